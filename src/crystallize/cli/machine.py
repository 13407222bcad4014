"""Output of ``list``, ``show`` and ``compare`` for machines: JSON documents and TSV rows.

Every JSON document carries ``"schema_version": 1``; the fields are listed in the
README ("JSON output"). A field is added without changing the version; renaming
or removing one, or changing its meaning, raises it. Numbers that JSON cannot
hold (NaN, infinities) are ``null``; times are ISO 8601 in UTC.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.cli.compare import condition_means, differences, metric_moves, verdict_changes
from crystallize.core.safe_text import printable

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict
    from crystallize.store.reader import ExperimentRunInfo

__all__ = ["SCHEMA_VERSION", "comparison_document", "comparison_rows", "dumps", "run_document", "run_rows",
           "runs_document", "runs_rows", "tsv"]

SCHEMA_VERSION = 1


def _number(value: Any) -> Any:
    """``value`` as JSON can hold it: non-finite floats become ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _time(seconds: float | None) -> str | None:
    if not seconds:
        return None
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).isoformat(timespec="seconds")


def dumps(document: dict[str, Any]) -> str:
    """``document`` as indented, standard JSON (no NaN)."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False, default=str)


def _field(value: Any) -> str:
    return "" if value is None else printable(value)


def tsv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Tab-separated values with a header line; ``None`` is an empty field, control characters
    in text are escaped (``\\x1b``, ``\\t``) so that a field never holds a tab or line break
    and nothing reaches the terminal as an escape sequence (JSON keeps the exact text)."""
    lines = ["\t".join(header), *("\t".join(_field(v) for v in row) for row in rows)]
    return "\n".join(lines)


# -- list --------------------------------------------------------------------------------------

_RUN_FIELDS = ("id", "name", "status", "started", "finished", "seed", "replicates", "sequential", "runs_planned",
               "runs_done", "runs_failed", "verdicts", "accepted")


def _run_info(info: ExperimentRunInfo) -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "status": info.status, "started": _time(info.started),
            "finished": _time(info.finished), "seed": info.seed, "replicates": info.replicates,
            "sequential": info.sequential, "runs_planned": info.runs_planned, "runs_done": info.runs_done, "runs_failed": info.runs_failed,
            "verdicts": info.verdicts, "accepted": info.accepted, "conditions": list(info.conditions)}


def runs_document(rows: Sequence[ExperimentRunInfo], *, total: int, store: str) -> dict[str, Any]:
    """``crystallize list --json``: the runs shown, newest first, and how many there are."""
    return {"schema_version": SCHEMA_VERSION, "store": store, "total": total, "runs": [_run_info(r) for r in rows]}


def runs_rows(rows: Sequence[ExperimentRunInfo]) -> str:
    """``crystallize list --format tsv``."""
    return tsv(_RUN_FIELDS, ([_run_info(r)[k] for k in _RUN_FIELDS] for r in rows))


# -- show --------------------------------------------------------------------------------------


def _samples(result: Result) -> list[dict[str, Any]]:
    means = condition_means(result)
    out = []
    for condition in result.conditions:
        for metric in result.metrics.get(condition, {}):
            mean, sd, n = means.get((condition, metric), (None, None, 0))  # none for a metric that is not numeric
            out.append({"condition": condition, "metric": metric, "mean": _number(mean), "sd": _number(sd), "n": n})
    return out


_VERDICT_FIELDS = ("hypothesis", "metric", "treatment", "test", "direction", "alternative", "estimate", "estimand",
                   "ci_low", "ci_high", "ci_level", "effect_size", "effect_size_name", "p_value", "p_value_adjusted",
                   "alpha", "correction", "label", "accepted", "n_baseline", "n_treatment")


def _verdict(v: Verdict) -> dict[str, Any]:
    low, high = v.ci if v.ci is not None else (None, None)
    data = {"hypothesis": v.hypothesis, "metric": v.metric, "treatment": v.treatment, "test": v.test,
            "direction": v.direction, "alternative": v.alternative, "estimate": v.estimate, "estimand": v.estimand,
            "ci_low": low, "ci_high": high, "ci_level": v.ci_level, "effect_size": v.effect_size,
            "effect_size_name": v.effect_size_name, "p_value": v.p_value, "p_value_adjusted": v.p_value_adjusted,
            "alpha": v.alpha, "correction": v.correction, "label": v.label, "accepted": v.accepted,
            "n_baseline": v.n_baseline, "n_treatment": v.n_treatment}
    return {key: _number(value) for key, value in data.items()} | {"notes": list(v.notes)}


def run_document(result: Result, info: ExperimentRunInfo) -> dict[str, Any]:
    """``crystallize show --json``: the run, its samples (mean, sd, n), verdicts and failures."""
    prov = result.provenance
    failures = [{"condition": e.condition, "replicate": e.replicate, "step": e.step, "type": e.type,
                 "message": e.message} for e in result.errors.values()]
    return {"schema_version": SCHEMA_VERSION, "run_id": result.run_id, "name": result.name, "status": info.status,
            "started": _time(info.started), "finished": _time(info.finished), "seed": prov.get("master_seed"),
            "replicates": prov.get("replicates"), "runs": len(result.records), "failed": len(result.errors),
            "interrupted": result.interrupted, "conditions": list(result.conditions), "samples": _samples(result),
            "verdicts": [_verdict(v) for v in result.hypotheses], "failures": failures}


def run_rows(result: Result) -> str:
    """``crystallize show --format tsv``: one row per verdict."""
    return tsv(_VERDICT_FIELDS, ([_verdict(v)[k] for k in _VERDICT_FIELDS] for v in result.hypotheses))


# -- compare -----------------------------------------------------------------------------------


def comparison_document(a: Result, b: Result) -> dict[str, Any]:
    """``crystallize compare --json``: what differs, how the metrics moved, how the verdicts changed."""
    return {
        "schema_version": SCHEMA_VERSION,
        "a": {"run_id": a.run_id, "name": a.name},
        "b": {"run_id": b.run_id, "name": b.name},
        "differences": [{"section": d.section, "key": d.key, "a": d.a, "b": d.b} for d in differences(a, b)],
        "metrics": [{"condition": m.condition, "metric": m.metric, "mean_a": _number(m.mean_a),
                     "mean_b": _number(m.mean_b), "change": _number(m.change), "relative": _number(m.relative),
                     "better": m.better} for m in metric_moves(a, b)],
        "verdicts": [{"hypothesis": v.hypothesis, "treatment": v.treatment, "verdict_a": v.verdict_a,
                      "verdict_b": v.verdict_b, "p_adjusted_a": _number(v.p_a), "p_adjusted_b": _number(v.p_b)}
                     for v in verdict_changes(a, b)],
    }


def comparison_rows(a: Result, b: Result) -> str:
    """``crystallize compare --format tsv``: ``section, key, a, b`` rows; metric means are in
    section ``mean`` (key ``condition.metric``), verdicts in ``verdict`` (key ``hypothesis.treatment``)."""
    rows: list[Sequence[Any]] = [(d.section, d.key, d.a, d.b) for d in differences(a, b)]
    rows += [("mean", f"{m.condition}.{m.metric}", _number(m.mean_a), _number(m.mean_b)) for m in metric_moves(a, b)]
    rows += [("verdict", f"{v.hypothesis}.{v.treatment}", v.verdict_a, v.verdict_b) for v in verdict_changes(a, b)]
    return tsv(("section", "key", "a", "b"), rows)
