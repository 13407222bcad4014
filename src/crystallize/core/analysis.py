"""Verdicts computed from run records alone.

Given the records of an experiment run (live, resumed or loaded from a
store), gather each condition's samples, align replicates for paired tests,
verify every (hypothesis, treatment) pair and adjust for multiple comparisons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crystallize.core.exceptions import FailureImbalanceWarning, MissingMetricError
from crystallize.core.hypothesis import Hypothesis
from crystallize.core.plan import BASELINE
from crystallize.core.record import RunRecord
from crystallize.core.verdict import Verdict
from crystallize.stats.warnings import warn

__all__ = ["CORRECTIONS", "by_condition", "compute_verdicts", "samples"]

#: Allowed values of ``Experiment(correction=...)``.
CORRECTIONS: tuple[str | None, ...] = ("holm", "bonferroni", "fdr_bh", None)


def by_condition(records: Iterable[RunRecord]) -> dict[str, dict[int, RunRecord]]:
    """``{condition: {replicate: record}}`` with replicates in ascending order."""
    table: dict[str, dict[int, RunRecord]] = {}
    for record in sorted(records, key=lambda r: r.replicate):
        table.setdefault(record.condition, {})[record.replicate] = record
    return table


def samples(runs: Mapping[int, RunRecord]) -> dict[str, list[Any]]:
    """Every metric of the successful runs, in replicate order."""
    out: dict[str, list[Any]] = {}
    for replicate in sorted(runs):
        record = runs[replicate]
        if record.ok:
            for name, value in record.metrics.items():
                out.setdefault(name, []).append(value)
    return out


def _aligned(
    base: Mapping[int, RunRecord], treat: Mapping[int, RunRecord], metric: str, paired: bool
) -> tuple[list[Any], list[Any]]:
    def ok(runs: Mapping[int, RunRecord]) -> dict[int, Any]:
        return {r: rec.metrics[metric] for r, rec in sorted(runs.items()) if rec.ok and metric in rec.metrics}

    b, t = ok(base), ok(treat)
    if paired:
        shared = [r for r in b if r in t]
        return [b[r] for r in shared], [t[r] for r in shared]
    return list(b.values()), list(t.values())


def _check_metric(hypothesis: Hypothesis, condition: str, runs: Mapping[int, RunRecord]) -> None:
    done = [rec for rec in runs.values() if rec.ok]
    if done and not any(hypothesis.metric in rec.metrics for rec in done):
        raise MissingMetricError(hypothesis.metric, done[0].metrics, condition=condition)


def _failure_note(name: str, counts: tuple[int, int], totals: tuple[int, int]) -> str | None:
    if counts[0] * max(totals[1], 1) == counts[1] * max(totals[0], 1):
        return None
    return (f"failure rates differ: baseline lost {counts[0]}/{totals[0]} runs, {name} lost "
            f"{counts[1]}/{totals[1]}; dropped failures can bias the comparison")


def compute_verdicts(
    records: Iterable[RunRecord],
    hypotheses: Sequence[Hypothesis],
    treatments: Sequence[str],
    correction: str | None = "holm",
) -> list[Verdict]:
    """One verdict per (hypothesis, treatment), in hypothesis-major order.

    Raises:
        MissingMetricError: a hypothesis names a metric no successful run produced.
    """
    table = by_condition(records)
    base = table.get(BASELINE, {})
    verdicts = []
    for hypothesis in hypotheses:
        _check_metric(hypothesis, BASELINE, base)
        for name in treatments:
            treat = table.get(name, {})
            _check_metric(hypothesis, name, treat)
            b, t = _aligned(base, treat, hypothesis.metric, hypothesis.statistical_test.paired)
            failed = (sum(not r.ok for r in base.values()), sum(not r.ok for r in treat.values()))
            verdict = hypothesis.evaluate(b, t, treatment_name=name, failed=failed)
            note = _failure_note(name, failed, (len(base), len(treat)))
            if note:
                warn(f"hypothesis {hypothesis.name!r}: {note}", FailureImbalanceWarning)
                verdict = verdict.with_notes(note)
            unread = sorted({key for r in treat.values() for key in r.unread})
            if unread:
                verdict = verdict.with_notes(f"treatment {name!r} sets {', '.join(unread)}, which no step or "
                                             "data source read: the treatment may not change anything")
            verdicts.append(verdict)
    return adjust(verdicts, correction)


def adjust(verdicts: list[Verdict], correction: str | None) -> list[Verdict]:
    """Adjust the p-values of the tested verdicts for multiple comparisons."""
    tested = [i for i, v in enumerate(verdicts) if v.p_value is not None]
    if len(tested) < 2 or correction is None:
        return verdicts
    from crystallize.stats import adjust_pvalues  # noqa: PLC0415

    adjusted = adjust_pvalues([_p(verdicts[i]) for i in tested], method=correction)  # type: ignore[arg-type]
    out = list(verdicts)
    for i, p in zip(tested, adjusted):
        out[i] = verdicts[i].adjusted(float(p), correction)
    return out


def _p(verdict: Verdict) -> float:
    """The raw p-value of a tested verdict (0.0 is a p-value, not a missing one)."""
    return 1.0 if verdict.p_value is None else float(verdict.p_value)
