"""What the "difference from baseline" plot shows: each verdict's own estimate and interval.

A metric with hypotheses gets one row per verdict, drawn from the verdict and
nothing else: the test's estimate (mean difference, Hodges-Lehmann shift,
pseudo-median, or a relative difference shown in percent) and its interval at
the verdict's own level, with the margin of an equivalence or non-inferiority
claim drawn as dotted lines. A metric without a hypothesis gets a descriptive
plot of mean differences with 95% t intervals, labelled as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from crystallize.core.display import (
    better_direction,
    difference_text,
    format_percent,
    interval_label,
    interval_text,
    level_text,
    margin_bounds,
    one_sided,
)
from crystallize.core.verdict import ESTIMANDS
from crystallize.report.numbers import mean_difference
from crystallize.report.plots import ForestRow
from crystallize.report.svg import esc, slug

if TYPE_CHECKING:
    from crystallize.core.verdict import Verdict

__all__ = ["descriptive_rows", "forest_caption", "level_phrase", "verdict_rows"]

def verdict_rows(verdicts: Sequence[Verdict]) -> list[ForestRow]:
    """One row per verdict with an estimate, labelled by treatment (under its hypothesis's
    name when there are several)."""
    several = len({v.hypothesis for v in verdicts}) > 1
    rows = []
    for v in verdicts:
        if v.difference is None:
            continue
        low, high = v.ci if v.ci is not None else (None, None)
        detail = f"{v.hypothesis}, {v.test}: {difference_text(v, 6)}, {interval_text(v, 6)}; {v.label}"
        rows.append(ForestRow(v.treatment, v.difference, low, high, slug(v.label), detail, margin_bounds(v),
                              v.hypothesis if several else ""))
    return rows


def _tested_end(verdict: Verdict) -> str:
    """Which end of a one-sided decision's interval is its bound: ``"lower"``, ``"upper"`` or ``"each"``."""
    if verdict.direction == "equal":
        return "each"
    side = verdict.details.get("alternative") or verdict.alternative
    if verdict.direction == "no_worse" and side not in ("greater", "less"):
        side = {1: "greater", -1: "less"}.get(better_direction(verdict))  # type: ignore[arg-type]
    return {"greater": "lower", "less": "upper"}.get(str(side), "tested")


def level_phrase(verdicts: Sequence[Verdict]) -> str:
    """Each interval's true level in words: ``"95% CI (per comparison)"``, ``"98.33% CI
    (simultaneous over 3 comparisons)"``, or for a one-sided decision ``"90% CI (per
    comparison), whose lower end is the one-sided 95% bound the decision uses"``."""
    phrases = []
    for v in verdicts:
        if v.ci is None:
            continue
        if v.sequential:
            phrases.append(f"{interval_label(v)}, valid at every look")
            continue
        kind = f"simultaneous over {v.comparisons} comparisons" if v.ci_simultaneous else "per comparison"
        text = f"{interval_label(v)} ({kind})"
        if one_sided(v) and v.ci_level is not None:
            end = _tested_end(v)
            text += (f", whose {end} end is {'a' if end == 'each' else 'the'} one-sided "
                     f"{level_text((1 + v.ci_level) / 2)} bound the decision uses")
        phrases.append(text)
    return ", ".join(dict.fromkeys(phrases)) or "no interval"


def descriptive_rows(values: Mapping[str, Mapping[int, float]], baseline: str,
                     treatments: Sequence[str]) -> list[ForestRow]:
    """Mean differences from ``baseline`` with 95% t intervals (paired over shared
    replicates), for a metric no hypothesis tests."""
    rows = []
    base = values.get(baseline, {})
    for name in treatments:
        diff = mean_difference(base, values.get(name, {})) if base else None
        if diff is not None:
            kind = f"paired over {diff.n} replicates" if diff.paired else "Welch interval"
            rows.append(ForestRow(name, diff.estimate, diff.ci[0], diff.ci[1], "neutral", f"95% CI, {kind}"))
    return rows


def forest_caption(verdicts: Sequence[Verdict], metric: str, *, relative: bool = False) -> str:
    """The caption of a verdict plot: what each hypothesis's estimate is and each interval's level."""
    parts = []
    for name in dict.fromkeys(v.hypothesis for v in verdicts):
        own = [v for v in verdicts if v.hypothesis == name]
        levels = level_phrase(own)
        what = ESTIMANDS.get(str(own[0].estimand), "estimate")
        margin = ""
        if margin_bounds(own[0]):
            m = format_percent(own[0].margin).lstrip("+") if relative else f"{own[0].margin:g}"
            sign = "±" if own[0].direction == "equal" else ""
            margin = f"; margin {sign}{m}{' of the baseline mean' if relative else ''}"
        parts.append(f"<em>{esc(name)}</em> ({esc(own[0].test)}): {esc(what)}, {esc(levels)}{margin}")
    missing = [f"{v.treatment} ({v.hypothesis})" for v in verdicts if v.difference is None]
    absent = f" No estimate: {esc(', '.join(missing))}." if missing else ""
    title = "Relative difference from baseline" if relative else "Difference from baseline"
    dotted = " Dotted lines: the margins." if any(margin_bounds(v) for v in verdicts) else ""
    return (f"<strong>{title}</strong> (treatment − baseline) of {esc(metric)}, each verdict's own estimate and "
            f"interval: {'; '.join(parts)}.{dotted} Colour follows the verdict.{absent}")
