"""The tidy tables of a result: one row per sample, one row per verdict.

Both build plain rows first (for any writer) and a pandas DataFrame on request,
so :meth:`Result.to_dataframe` and :meth:`Result.verdicts_frame` stay small.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict

__all__ = ["SAMPLE_COLUMNS", "VERDICT_COLUMNS", "sample_rows", "samples_frame", "verdict_row", "verdicts_frame"]

#: Columns of :meth:`Result.to_dataframe`.
SAMPLE_COLUMNS: tuple[str, ...] = ("condition", "replicate", "seed", "metric", "value", "status")

#: Columns of :meth:`Result.verdicts_frame`, in order.
VERDICT_COLUMNS: tuple[str, ...] = (
    "hypothesis", "metric", "treatment", "test", "direction", "estimand", "difference", "ci_low", "ci_high",
    "ci_level", "ci_simultaneous", "effect_size", "effect_size_name", "p_value", "p_value_adjusted", "correction",
    "alpha", "margin", "label", "n_baseline", "n_treatment", "n_pairs", "failed_baseline", "failed_treatment",
    "notes",
)


def sample_rows(result: Result) -> list[tuple[Any, ...]]:
    """One row per (run, metric) in :data:`SAMPLE_COLUMNS` order, conditions in
    definition order then replicates. A run that did not succeed (``failed``,
    ``timeout``) gives a row per metric of the experiment, with ``NaN`` values, so
    it is counted rather than silently missing."""
    order = {c: i for i, c in enumerate(result.conditions)}
    names: list[str | None] = list(result.metric_names) or [None]
    rows: list[tuple[Any, ...]] = []
    for r in sorted(result.records, key=lambda r: (order.get(r.condition, len(order)), r.replicate)):
        if r.ok:
            rows.extend((r.condition, r.replicate, r.seed, name, value, r.status) for name, value in r.metrics.items())
        else:
            rows.extend((r.condition, r.replicate, r.seed, name, math.nan, r.status) for name in names)
    return rows


def samples_frame(result: Result) -> pd.DataFrame:
    """:func:`sample_rows` as a DataFrame."""
    import pandas as pd  # noqa: PLC0415 - pandas is only needed here

    return pd.DataFrame(sample_rows(result), columns=list(SAMPLE_COLUMNS))


def verdict_row(verdict: Verdict) -> dict[str, Any]:
    """One verdict as a flat row of :data:`VERDICT_COLUMNS` (missing numbers are ``NaN``).

    ``difference`` is the estimate the verdict uses (``estimand`` says which);
    ``ci_low``/``ci_high`` its interval at the two-sided level ``ci_level``;
    ``notes`` are joined with ``"; "``.
    """
    low, high = verdict.ci if verdict.ci is not None else (None, None)
    values = {
        "hypothesis": verdict.hypothesis, "metric": verdict.metric, "treatment": verdict.treatment,
        "test": verdict.test, "direction": verdict.direction, "estimand": verdict.estimand or "mean_difference",
        "difference": verdict.difference, "ci_low": low, "ci_high": high, "ci_level": verdict.ci_level,
        "ci_simultaneous": verdict.ci_simultaneous, "effect_size": verdict.effect_size,
        "effect_size_name": verdict.effect_size_name, "p_value": verdict.p_value,
        "p_value_adjusted": verdict.p_value_adjusted, "correction": verdict.correction, "alpha": verdict.alpha,
        "margin": verdict.margin, "label": verdict.label, "n_baseline": verdict.n_baseline,
        "n_treatment": verdict.n_treatment, "n_pairs": verdict.n_pairs, "failed_baseline": verdict.failed_baseline,
        "failed_treatment": verdict.failed_treatment, "notes": "; ".join(verdict.notes),
    }
    numeric = ("difference", "ci_low", "ci_high", "ci_level", "effect_size", "p_value", "p_value_adjusted", "margin")
    return {k: (math.nan if k in numeric and v is None else v) for k, v in values.items()}


def verdicts_frame(result: Result) -> pd.DataFrame:
    """One row per verdict (:func:`verdict_row`), in the result's order."""
    import pandas as pd  # noqa: PLC0415 - pandas is only needed here

    return pd.DataFrame([verdict_row(v) for v in result.verdicts], columns=list(VERDICT_COLUMNS))
