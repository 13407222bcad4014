"""Assertions on an experiment's verdicts, for performance claims checked in CI.

``assert_accepted(result, "accuracy", treatment="new_model")`` passes when that
verdict is accepted; otherwise its :class:`AssertionError` reads the verdict as
the summary shows it (label, difference, interval with its level, p-values,
test, sample sizes and notes), written by the same helpers
(:mod:`crystallize.core.display`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crystallize.core.display import (
    better_direction,
    difference_text,
    evidence_lines,
    format_p,
    interval_notes,
    interval_text,
)
from crystallize.core.exceptions import CrystallizeError
from crystallize.core.safe_text import printable
from crystallize.core.verdict import Verdict

__all__ = ["VerdictSelectionError", "assert_accepted", "assert_not_worse", "select_verdict", "verdict_line"]

class VerdictSelectionError(CrystallizeError, LookupError):
    """No verdict, or more than one, matches the hypothesis and treatment asked for."""


def _verdicts(result: Any) -> Sequence[Verdict]:
    verdicts = getattr(result, "verdicts", None)
    if verdicts is None:
        raise TypeError(f"expected a crystallize Result (from experiment.run() or Result.load), "
                        f"got {type(result).__name__}")
    return tuple(verdicts)


def _pairs(verdicts: Sequence[Verdict]) -> str:
    shown = [f"{v.hypothesis!r} (metric {v.metric!r}) / {v.treatment!r}" for v in verdicts]
    return ", ".join(shown) if shown else "none (the experiment has no hypotheses)"


def select_verdict(result: Any, hypothesis: str, *, treatment: str | None = None) -> Verdict:
    """The one verdict of ``hypothesis`` (its name, or its metric) for ``treatment``.

    Args:
        result: a :class:`~crystallize.core.result.Result`.
        hypothesis: the hypothesis's name, or the metric it tests.
        treatment: the treatment's name; may be left out when only one verdict matches.

    Raises:
        VerdictSelectionError: nothing or several verdicts match; the message lists them.
    """
    verdicts = _verdicts(result)
    by_name = [v for v in verdicts if v.hypothesis == hypothesis]
    matches = by_name or [v for v in verdicts if v.metric == hypothesis]
    if treatment is not None:
        matches = [v for v in matches if v.treatment == treatment]
    asked = f"hypothesis or metric {hypothesis!r}" + (f" and treatment {treatment!r}" if treatment is not None else "")
    if not matches:
        raise VerdictSelectionError(f"no verdict for {asked}; available: {_pairs(verdicts)}")
    if len(matches) > 1:
        hint = "pass treatment=" if treatment is None else "pass the hypothesis's name instead of its metric"
        raise VerdictSelectionError(f"{len(matches)} verdicts match {asked}: {_pairs(matches)}; {hint}")
    return matches[0]


def verdict_line(verdict: Verdict) -> str:
    """The verdict on one line, as a person reads it in the summary, with its notes.

    Example: ``accuracy (increase) / new_model: not accepted · difference +0.012 (+1.3%) ·
    [-0.004, 0.028] 95% CI · p = 0.14 · p adj. = 0.14 · Welch t-test, alpha = 0.05,
    n = 5 vs 5``, followed by a line on the interval's level and one per note.
    """
    v = verdict
    direction = v.direction or "any change"
    parts = [f"{printable(v.hypothesis)} ({direction}) / {printable(v.treatment)}: {v.label}", *evidence_lines(v),
             f"difference {difference_text(v)}", interval_text(v), f"p = {format_p(v.p_value, v.alpha)}",
             f"p adj. = {format_p(v.p_value_adjusted, v.alpha)}",
             f"{printable(v.test)}, alpha = {v.alpha:g}, n = {v.n_baseline} vs {v.n_treatment}"]
    failed = v.failed_baseline + v.failed_treatment
    if failed:
        parts.append(f"{failed} failed runs")
    lines = [" · ".join(parts), *interval_notes([v]), *(f"note: {printable(n)}" for n in v.notes)]
    return "\n".join(lines)


def assert_accepted(result: Any, hypothesis: str, *, treatment: str | None = None) -> Verdict:
    """Assert that the verdict of ``hypothesis`` for ``treatment`` is accepted.

    The arguments select the verdict as in :func:`select_verdict`; the verdict is
    returned, for further checks.

    Raises:
        AssertionError: the verdict is not accepted; the message is its :func:`verdict_line`.
        VerdictSelectionError: nothing or several verdicts match.
    """
    __tracebackhide__ = True  # pytest shows the failing test's line, not this helper's
    verdict = select_verdict(result, hypothesis, treatment=treatment)
    if not verdict.accepted:
        raise AssertionError(f"expected accepted, got {verdict.label}:\n{verdict_line(verdict)}")
    return verdict


def assert_not_worse(result: Any, hypothesis: str, *, treatment: str | None = None) -> Verdict:
    """Assert that the treatment is not worse than the baseline on this verdict.

    For a non-inferiority hypothesis (``direction="no_worse"``) the verdict must be
    accepted: the data show the treatment is not worse by more than the margin.
    For a directional one (``"increase"``, ``"decrease"``, or a one-sided test) it
    must not be significant in the worse direction ("opposite direction"); "not
    accepted" passes, since no evidence of a gain is no evidence of a loss. A
    verdict without data (``"insufficient data"``, ``"skipped"``) fails.

    The arguments select the verdict as in :func:`select_verdict`; the verdict is
    returned, for further checks.

    Raises:
        AssertionError: the treatment is (or may be) worse; the message is its :func:`verdict_line`.
        VerdictSelectionError: nothing or several verdicts match.
        ValueError: the hypothesis states no better direction (``"equal"`` or ``None``).
    """
    __tracebackhide__ = True  # pytest shows the failing test's line, not this helper's
    verdict = select_verdict(result, hypothesis, treatment=treatment)
    if verdict.status != "ok":
        raise AssertionError(f"expected not worse, got {verdict.label}:\n{verdict_line(verdict)}")
    if verdict.direction == "no_worse":
        if not verdict.accepted:
            raise AssertionError(f"expected not worse (within the margin), got {verdict.label}:\n{verdict_line(verdict)}")
        return verdict
    better = better_direction(verdict)
    if better is None:
        raise ValueError(f"assert_not_worse: hypothesis {verdict.hypothesis!r} states no better direction "
                         f"(direction={verdict.direction!r}); use direction='increase', 'decrease' or 'no_worse'")
    estimate = verdict.difference
    worse = estimate is not None and estimate * better < 0
    if verdict.significant and worse:
        raise AssertionError(f"expected not worse, got significantly worse:\n{verdict_line(verdict)}")
    return verdict
