"""Verdicts computed from run records alone.

Given the records of an experiment run (live, resumed or loaded from a
store), gather each condition's samples, align replicates for paired tests,
verify every (hypothesis, treatment) pair and adjust for multiple comparisons
within each family of hypotheses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from crystallize.core.exceptions import ExperimentDefinitionError, FailureImbalanceWarning, MissingMetricError
from crystallize.core.hypothesis import Hypothesis
from crystallize.core.plan import BASELINE
from crystallize.core.record import RunRecord
from crystallize.core.verdict import Verdict
from crystallize.stats.warnings import warn

__all__ = ["CORRECTIONS", "INTERVALS", "Intervals", "aligned", "by_condition", "check_families",
           "compute_verdicts", "samples"]

#: Allowed values of ``Experiment(correction=...)``.
CORRECTIONS: tuple[str | None, ...] = ("holm", "bonferroni", "fdr_bh", None)
#: Allowed values of ``Experiment(intervals=...)``.
INTERVALS: tuple[str, ...] = ("per-comparison", "simultaneous")
Intervals = Literal["per-comparison", "simultaneous"]

#: A failure-rate difference is noted when Fisher's exact test gives a p-value below this.
FAILURE_IMBALANCE_P = 0.05
#: An unpaired test gets a note when replicates correlate at least this much (and significantly).
PAIRING_CORRELATION = 0.3


def by_condition(records: Iterable[RunRecord]) -> dict[str, dict[int, RunRecord]]:
    """``{condition: {replicate: record}}`` with replicates in ascending order."""
    table: dict[str, dict[int, RunRecord]] = {}
    for record in sorted(records, key=lambda r: r.replicate):
        table.setdefault(record.condition, {})[record.replicate] = record
    return table


def samples(runs: Mapping[int, RunRecord], replicates: Sequence[int], metrics: Sequence[str]) -> dict[str, list[Any]]:
    """Every metric, one entry per replicate in ``replicates`` (NaN where the run
    failed, did not run, or did not return the metric), so that entry ``i`` of
    every condition belongs to the same replicate."""
    out: dict[str, list[Any]] = {name: [] for name in metrics}
    for replicate in replicates:
        record = runs.get(replicate)
        values = record.metrics if record is not None and record.ok else {}
        for name in metrics:
            out[name].append(values.get(name, math.nan))
    return out


def aligned(
    base: Mapping[int, RunRecord], treat: Mapping[int, RunRecord], metric: str, paired: bool
) -> tuple[list[int], list[Any], list[int], list[Any]]:
    """Replicates and values of ``metric`` on each side: the successful runs, and for a
    paired test only the replicates where both sides succeeded, in the same order."""

    def ok(runs: Mapping[int, RunRecord]) -> dict[int, Any]:
        return {r: rec.metrics[metric] for r, rec in sorted(runs.items()) if rec.ok and metric in rec.metrics}

    b, t = ok(base), ok(treat)
    if paired:
        shared = [r for r in b if r in t]
        return shared, [b[r] for r in shared], shared, [t[r] for r in shared]
    return list(b), list(b.values()), list(t), list(t.values())


def _check_metric(hypothesis: Hypothesis, condition: str, runs: Mapping[int, RunRecord]) -> None:
    done = [rec for rec in runs.values() if rec.ok]
    if done and not any(hypothesis.metric in rec.metrics for rec in done):
        raise MissingMetricError(hypothesis.metric, done[0].metrics, condition=condition)


def check_families(hypotheses: Sequence[Hypothesis]) -> None:
    """Refuse a family whose hypotheses have different ``alpha``: one correction needs one level.

    Raises:
        ExperimentDefinitionError: naming the family and two of its alphas.
    """
    first: dict[str, Hypothesis] = {}
    for h in hypotheses:
        other = first.setdefault(h.family, h)
        if other.alpha != h.alpha:
            raise ExperimentDefinitionError(
                f"hypotheses {other.name!r} (alpha={other.alpha:g}) and {h.name!r} (alpha={h.alpha:g}) are in the "
                f"same family {h.family!r}, which is adjusted for multiple comparisons as one: give them the same "
                "alpha, or put one in a family of its own with family='...'"
            )


def _failure_note(name: str, counts: tuple[int, int], totals: tuple[int, int]) -> str | None:
    """A note when the two failure rates differ beyond chance (Fisher's exact test)."""
    if not any(counts) or min(totals) == 0:
        return None
    from scipy import stats  # noqa: PLC0415 - keeps `import crystallize` light

    table = [[counts[0], totals[0] - counts[0]], [counts[1], totals[1] - counts[1]]]
    p = float(stats.fisher_exact(table).pvalue)
    if p >= FAILURE_IMBALANCE_P:
        return None
    return (f"failure rates differ beyond chance: baseline lost {counts[0]}/{totals[0]} runs, {name} lost "
            f"{counts[1]}/{totals[1]} (Fisher's exact test p = {p:.2g}); losing runs unevenly can bias the "
            "comparison")


def _pairing_note(hypothesis: Hypothesis, base: Mapping[int, RunRecord], treat: Mapping[int, RunRecord]) -> str | None:
    """For an unpaired test: a note when replicates (which share seeds) correlate strongly."""
    if hypothesis.statistical_test.paired:
        return None
    _, b, _, t = aligned(base, treat, hypothesis.metric, True)
    try:
        pairs = [(float(x), float(y)) for x, y in zip(b, t) if math.isfinite(float(x)) and math.isfinite(float(y))]
    except (TypeError, ValueError):
        return None
    if len(pairs) < 5 or len({x for x, _ in pairs}) < 2 or len({y for _, y in pairs}) < 2:
        return None
    from scipy import stats  # noqa: PLC0415

    r, p = stats.pearsonr(*zip(*pairs))
    if abs(r) < PAIRING_CORRELATION or p >= 0.05:
        return None
    effect = ("which makes it conservative here (it loses power)" if r > 0
              else "which inflates its false-positive rate here")
    return (f"baseline and treatment values of the same replicate correlate (r = {r:+.2f} over {len(pairs)} "
            f"replicates, which share seeds): {hypothesis.statistical_test.test_name} ignores that pairing, "
            f"{effect}; a paired test (PairedTTest()) uses it")


def compute_verdicts(
    records: Iterable[RunRecord],
    hypotheses: Sequence[Hypothesis],
    treatments: Sequence[str],
    correction: str | None = "holm",
    intervals: Intervals = "per-comparison",
) -> list[Verdict]:
    """One verdict per (hypothesis, treatment), in hypothesis-major order.

    Raises:
        MissingMetricError: a hypothesis names a metric no successful run produced.
        ExperimentDefinitionError: a family mixes alphas.
    """
    check_families(hypotheses)
    table = by_condition(records)
    base = table.get(BASELINE, {})
    sizes = {h.family: 0 for h in hypotheses}
    for h in hypotheses:
        sizes[h.family] += len(treatments)
    verdicts = []
    for hypothesis in hypotheses:
        _check_metric(hypothesis, BASELINE, base)
        for name in treatments:
            treat = table.get(name, {})
            _check_metric(hypothesis, name, treat)
            rb, b, rt, t = aligned(base, treat, hypothesis.metric, hypothesis.statistical_test.paired)
            failed = (sum(not r.ok for r in base.values()), sum(not r.ok for r in treat.values()))
            verdict = hypothesis.evaluate(b, t, treatment_name=name, failed=failed, replicates=(rb, rt),
                                          comparisons=sizes[hypothesis.family],
                                          simultaneous=intervals == "simultaneous")
            note = _failure_note(name, failed, (len(base), len(treat)))
            if note:
                warn(f"hypothesis {hypothesis.name!r}: {note}", FailureImbalanceWarning)
            unread = sorted({key for r in treat.values() for key in r.unread})
            unread_note = (f"treatment {name!r} sets {', '.join(unread)}, which no step or data source read: "
                           "the treatment may not change anything") if unread else None
            extra = [n for n in (note, unread_note, _pairing_note(hypothesis, base, treat)) if n]
            verdicts.append(verdict.with_notes(*extra) if extra else verdict)
    return adjust(verdicts, correction, hypotheses)


def adjust(verdicts: list[Verdict], correction: str | None, hypotheses: Sequence[Hypothesis] = ()) -> list[Verdict]:
    """Adjust the p-values of the tested verdicts for multiple comparisons, family by family.

    Verdicts whose test decided significance itself are left as they are.
    """
    tests = {h.name: h.statistical_test for h in hypotheses}
    out = list(verdicts)
    for family in dict.fromkeys(v.family for v in verdicts):
        members = [i for i, v in enumerate(verdicts) if v.family == family]
        tested = [i for i in members if verdicts[i].p_value is not None and not verdicts[i].decided_by_test]
        if correction is None or len(tested) < 2:
            adjusted = [verdicts[i].p_value or 1.0 for i in tested]
            method = None
        else:
            from crystallize.stats import adjust_pvalues  # noqa: PLC0415

            adjusted = [float(p) for p in adjust_pvalues([_p(verdicts[i]) for i in tested],
                                                         method=correction)]  # type: ignore[arg-type]
            method = correction
        for i, p in zip(tested, adjusted):
            out[i] = verdicts[i].adjusted(float(p), method, len(members))
        for i in members:
            note = _floor_note(out[i], tests.get(out[i].hypothesis), correction, len(tested))
            if note:
                out[i] = out[i].with_notes(note)
    return out


def _floor_note(verdict: Verdict, test: Any, correction: str | None, tested: int) -> str | None:
    """A note when the test could never reach significance with these samples (a rank or
    permutation test's smallest p-value, times the correction's first step)."""
    floor = getattr(test, "smallest_p", None)
    if verdict.status != "ok" or verdict.decided_by_test or verdict.direction in ("equal", "no_worse") \
            or floor is None:
        return None
    smallest = float(floor(verdict.n_baseline, verdict.n_treatment))
    factor = tested if correction in ("holm", "bonferroni") and tested > 1 else 1
    if smallest * factor < verdict.alpha:
        return None
    times = f" times {factor} comparisons ({correction})" if factor > 1 else ""
    return (f"{verdict.test} cannot reach significance with these samples: its smallest possible p-value is "
            f"{smallest:.4g}{times}, not below alpha = {verdict.alpha:g}; add replicates")


def _p(verdict: Verdict) -> float:
    """The raw p-value of a tested verdict (0.0 is a p-value, not a missing one)."""
    return 1.0 if verdict.p_value is None else float(verdict.p_value)
