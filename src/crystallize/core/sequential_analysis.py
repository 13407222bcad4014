"""Sequential verdicts from run records alone: every look replayed, decisions that never revert.

At each look (the replicate counts of :meth:`Sequential.looks` that the records
cover) every (hypothesis, treatment) pair gets the anytime-valid evidence of the
paired differences of replicates below that count: ``ln E``, the anytime p-value,
Holm-adjusted within its family, and the confidence sequence. A pair is decided
at the first look where its adjusted anytime p-value is below alpha (accepted),
or its evidence the other way is (opposite direction); it is futile once its
``1 - alpha_futility`` confidence sequence excludes ``min_effect``. The same
records always give the same looks, so a resumed run reaches the same decisions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crystallize.core.analysis import aligned, by_condition, check_families
from crystallize.core.hypothesis import Hypothesis
from crystallize.core.plan import BASELINE
from crystallize.core.record import RunRecord, is_finite
from crystallize.core.sequential import Sequential
from crystallize.core.verdict import Verdict

__all__ = ["Evidence", "SequentialOutcome", "complete_replicates", "sequential_verdicts"]


@dataclass
class Evidence:
    """One (hypothesis, treatment) pair's anytime-valid evidence, over its valid pairs."""

    hypothesis: Hypothesis
    treatment: str
    replicates: np.ndarray  # replicate of each valid pair, ascending
    log_e: np.ndarray  # ln E for the hypothesised claim after each valid pair
    log_e_opposite: np.ndarray | None  # ln E for the opposite direction (directional claims)
    differences: np.ndarray  # paired differences, treatment minus baseline
    samples: tuple[list[int], list[Any], list[Any]]  # aligned replicates and raw values of both sides
    failed: tuple[int, int] = (0, 0)
    decided_at: int | None = None
    outcome: str = "undecided"  # "accepted", "opposite", "futile", "undecided"
    history: list[dict[str, Any]] = field(default_factory=list)

    def pairs_before(self, count: int) -> int:
        """Valid pairs among the replicates below ``count``."""
        return int(np.searchsorted(self.replicates, count))

    def __post_init__(self) -> None:
        from crystallize.stats import anytime_pvalues  # noqa: PLC0415 - SciPy-free, but stats loads lazily

        # each look reads its p-value here instead of taking a new running maximum (a NaN counts as no evidence)
        self._p = anytime_pvalues(np.nan_to_num(self.log_e, nan=0.0))
        self._p_opposite = (None if self.log_e_opposite is None
                            else anytime_pvalues(np.nan_to_num(self.log_e_opposite, nan=0.0)))

    def p_at(self, pairs: int, opposite: bool = False) -> float:
        """The anytime-valid p-value after ``pairs`` valid pairs (1 before two)."""
        series = self._p_opposite if opposite else self._p
        if series is None or pairs < 2:
            return 1.0
        return float(series[min(pairs, len(series)) - 1])


@dataclass(frozen=True)
class SequentialOutcome:
    """The verdicts, the looks that led to them, and why the experiment stops (or ``None``: go on)."""

    verdicts: list[Verdict]
    looks: list[dict[str, Any]]
    stop_reason: str | None
    replicates: int


def complete_replicates(records: Iterable[RunRecord], conditions: Sequence[str]) -> int:
    """The number of leading replicates that every condition has a record of (ok or failed)."""
    seen: dict[str, set[int]] = {c: set() for c in conditions}
    for record in records:
        if record.condition in seen:
            seen[record.condition].add(record.replicate)
    count = 0
    while all(count in replicates for replicates in seen.values()):
        count += 1
    return count


def _claim(hypothesis: Hypothesis) -> tuple[str, float]:
    """(alternative of the e-process on the shifted differences, shift): what 'accepted' needs."""
    direction, margin = hypothesis.direction, float(hypothesis.margin or 0.0)
    alternative = hypothesis.statistical_test.alternative
    if direction == "no_worse":
        return ("greater", margin) if hypothesis.higher_is_better else ("less", -margin)
    if alternative != "two-sided":
        return alternative, 0.0
    if direction == "increase":
        return "greater", 0.0
    if direction == "decrease":
        return "less", 0.0
    return "two-sided", 0.0


def _process(hypothesis: Hypothesis, d: np.ndarray, alternative: str) -> np.ndarray:
    from crystallize import stats  # noqa: PLC0415

    test = hypothesis.statistical_test
    if test.test_name == "betting":
        if getattr(test, "mode", "bounded") == "bounded":
            d = np.clip(d, -1.0, 1.0)  # a margin shift past the bounds only helps the claim it tests
        return stats.betting_eprocess(d, mode=getattr(test, "mode", "bounded"), alternative=alternative)
    return stats.t_eprocess(d, alternative=alternative, prior_scale=getattr(test, "prior_scale", 0.5))


def _evidence(hypothesis: Hypothesis, treatment: str, base: dict[int, RunRecord], treat: dict[int, RunRecord],
              count: int) -> Evidence:
    base = {r: rec for r, rec in base.items() if r < count}
    treat = {r: rec for r, rec in treat.items() if r < count}
    replicates, b, _, t = aligned(base, treat, hypothesis.metric, True)
    pairs = [(r, float(y) - float(x)) for r, x, y in zip(replicates, b, t) if is_finite(x) and is_finite(y)]
    reps = np.asarray([r for r, _ in pairs], dtype=np.int64)
    d = np.asarray([v for _, v in pairs], dtype=np.float64)
    failed = (sum(not r.ok for r in base.values()), sum(not r.ok for r in treat.values()))
    samples = (replicates, b, t)
    if hypothesis.direction == "equal":
        margin = float(hypothesis.margin or 0.0)
        low, high = _process(hypothesis, d + margin, "greater"), _process(hypothesis, d - margin, "less")
        return Evidence(hypothesis, treatment, reps, np.minimum(low, high), None, d, samples, failed)
    alternative, shift = _claim(hypothesis)
    log_e = _process(hypothesis, d + shift, alternative)
    opposite = None
    if hypothesis.direction in ("increase", "decrease") and hypothesis.statistical_test.alternative == "two-sided":
        opposite = _process(hypothesis, d, "less" if alternative == "greater" else "greater")
    return Evidence(hypothesis, treatment, reps, log_e, opposite, d, samples, failed)


def _futile(evidence: Evidence, pairs: int) -> bool:
    """Whether the ``1 - alpha_futility`` confidence sequence excludes an effect of ``min_effect``."""
    h = evidence.hypothesis
    if h.min_effect is None or pairs < 2 or h.statistical_test.test_name == "betting":
        return False
    from crystallize import stats  # noqa: PLC0415

    low, high = stats.t_confidence_sequence(evidence.differences[:pairs], alpha=h.alpha_futility,
                                            prior_scale=getattr(h.statistical_test, "prior_scale", 0.5))
    if h.direction == "increase":
        return bool(high[-1] < h.min_effect)
    if h.direction == "decrease":
        return bool(low[-1] > -h.min_effect)
    return bool(-h.min_effect < low[-1] and high[-1] < h.min_effect)


def _look(evidence: list[Evidence], count: int, correction: str | None) -> dict[str, Any]:
    """Decide what can be decided at a look of ``count`` replicates; return the look's record."""
    from crystallize.stats import adjust_pvalues  # noqa: PLC0415

    rows = []
    for family in dict.fromkeys(e.hypothesis.family for e in evidence):
        members = [e for e in evidence if e.hypothesis.family == family]
        p = [e.p_at(e.pairs_before(count)) for e in members]
        adjusted = adjust_pvalues(p, method=correction) if correction and len(p) > 1 else np.asarray(p)  # type: ignore[arg-type]
        for e, raw, adj in zip(members, p, adjusted):
            pairs = e.pairs_before(count)
            alpha = e.hypothesis.alpha
            if e.outcome == "undecided":
                if adj < alpha:
                    e.outcome, e.decided_at = "accepted", count
                elif e.p_at(pairs, opposite=True) * len(members) < alpha:
                    e.outcome, e.decided_at = "opposite", count
                elif _futile(e, pairs):
                    e.outcome, e.decided_at = "futile", count
            log_e = float(e.log_e[pairs - 1]) if pairs else 0.0
            rows.append({"hypothesis": e.hypothesis.name, "treatment": e.treatment, "pairs": pairs,
                         "log_e": log_e, "p_value": raw, "p_value_adjusted": float(adj), "decision": e.outcome})
    return {"replicates": count, "verdicts": rows}


def sequential_verdicts(
    records: Sequence[RunRecord], hypotheses: Sequence[Hypothesis], treatments: Sequence[str],
    design: Sequential, correction: str | None = "holm", *, final: bool = False, verdicts: bool = True,
) -> SequentialOutcome:
    """Replay every look the records cover and decide; ``final``: no more rounds will run.

    Returns:
        The verdicts at the last look (none with ``verdicts=False``: between rounds
        only the looks and the stop decide what runs next), the looks, and the
        reason to stop (``None`` while some verdict is undecided and the budget is
        not spent).
    """
    check_families(hypotheses)
    conditions = [BASELINE, *treatments]
    count = complete_replicates(records, conditions)
    table = by_condition(records)
    base = table.get(BASELINE, {})
    evidence = [_evidence(h, name, base, table.get(name, {}), count) for h in hypotheses for name in treatments]
    looks = [_look(evidence, n, correction) for n in design.looks() if n <= count]
    last = looks[-1]["replicates"] if looks else count
    settled = all(e.outcome != "undecided" for e in evidence)
    if evidence and settled:
        reason: str | None = "futile" if all(e.outcome == "futile" for e in evidence) else "decided"
    elif last >= design.max:
        reason = "max_replicates"
    else:
        reason = "interrupted" if final else None
    found = [_verdict(e, last, reason, correction, looks) for e in evidence] if verdicts else []
    return SequentialOutcome(found, looks, reason, last)


def _verdict(e: Evidence, count: int, reason: str | None, correction: str | None,
             looks: list[dict[str, Any]]) -> Verdict:
    """The verdict of one pair at the last look: the fixed-design numbers of its samples,
    with the anytime-valid p-value, e-value, confidence sequence and decision."""
    from crystallize import stats  # noqa: PLC0415

    h = e.hypothesis
    pairs = e.pairs_before(count)
    replicates, b, t = (list(part[: int(np.searchsorted(e.samples[0], count))]) for part in e.samples)
    base = h.evaluate(b, t, treatment_name=e.treatment, failed=e.failed, replicates=(replicates, replicates))
    row = next((r for r in looks[-1]["verdicts"] if (r["hypothesis"], r["treatment"]) == (h.name, e.treatment)),
               None) if looks else None
    p_raw = row["p_value"] if row else 1.0
    p_adj = row["p_value_adjusted"] if row else 1.0
    ci = None
    if pairs >= 2 and h.statistical_test.test_name != "betting":
        low, high = stats.t_confidence_sequence(e.differences[:pairs], alpha=h.alpha,
                                                prior_scale=getattr(h.statistical_test, "prior_scale", 0.5))
        if math.isfinite(low[-1]) and math.isfinite(high[-1]):
            ci = (float(low[-1]), float(high[-1]))
    outcome = e.outcome if e.outcome != "undecided" else ("inconclusive" if reason == "max_replicates" else
                                                         "undecided")
    accepted = outcome == "accepted"
    notes = [f"anytime-valid: looked at {len(looks)} times, every {looks[1]['replicates'] - looks[0]['replicates']} "
             "replicates" if len(looks) > 1 else f"anytime-valid: looked at {len(looks)} time(s)"]
    if base.status != "ok":
        return base
    return dataclasses.replace(
        base, test=h.statistical_test.test_name, p_value=p_raw, p_value_adjusted=p_adj, correction=correction,
        significant=outcome in ("accepted", "opposite"), accepted=accepted,
        direction_matches=outcome != "opposite", decided_by_test=False,
        statistic=float(e.log_e[pairs - 1]) if pairs else 0.0, e_value=float(e.log_e[pairs - 1]) if pairs else 0.0,
        ci=ci, ci_level=1 - h.alpha if ci else None, ci_simultaneous=False,
        decided_at=e.decided_at, sequential=outcome, notes=_own_notes(base.notes) + tuple(notes),
    )


def _own_notes(notes: tuple[str, ...]) -> tuple[str, ...]:
    """The fixed-design notes that still hold (not the one-look e-value summary)."""
    return tuple(n for n in notes if not n.startswith("anytime-valid"))
