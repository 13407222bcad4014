"""A hypothesis: which metric should move, which way, judged by which test."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from crystallize.core.exceptions import (
    DegenerateDataWarning,
    ExperimentDefinitionError,
    InsufficientDataWarning,
    MissingMetricError,
)
from crystallize.core.outcome import Outcome, margin_outcome, test_outcome
from crystallize.core.record import is_number
from crystallize.core.stat_test import StatisticalTest
from crystallize.core.verdict import DEFAULT_FAMILY, ESTIMANDS, Verdict
from crystallize.stats.warnings import warn

__all__ = ["DIRECTIONS", "Hypothesis"]

#: Allowed values of ``Hypothesis(direction=...)``.
DIRECTIONS: tuple[str | None, ...] = ("increase", "decrease", "equal", "no_worse", None)
_NEEDS_MARGIN = ("equal", "no_worse")


def _finite_samples(
    baseline: Sequence[Any], treatment: Sequence[Any], *, paired: bool, metric: str, treatment_name: str,
    replicates: tuple[Sequence[int], Sequence[int]] | None,
) -> tuple[np.ndarray, np.ndarray, int, int, str | None]:
    """The finite samples of each side (pairs kept together), how many were dropped, and a note.

    A NaN or infinite value is a failed measurement of the metric in that run: it is
    left out of the test (with its pair, for a paired test) and counted as a failure.
    """
    b = np.asarray([float(v) for v in baseline], dtype=float)
    t = np.asarray([float(v) for v in treatment], dtype=float)
    if paired and b.size != t.size:
        raise ValueError(f"paired test needs replicate-aligned samples of equal length, got {b.size} baseline "
                         f"and {t.size} {treatment_name} samples of metric {metric!r}")
    bad_b, bad_t = ~np.isfinite(b), ~np.isfinite(t)
    if not (bad_b.any() or bad_t.any()):
        return b, t, 0, 0, None
    labels = replicates or (range(b.size), range(t.size))
    word = "replicate" if replicates else "sample"
    where = [f"{side} {word} {labels[k][int(i)]}: {values[i]}"
             for k, (side, values, bad) in enumerate((("baseline", b, bad_b), (treatment_name, t, bad_t)))
             for i in np.flatnonzero(bad)]
    shown = "; ".join(where[:6]) + ("; ..." if len(where) > 6 else "")
    pairs = ", with their pairs," if paired else ""
    note = (f"metric {metric!r} has {len(where)} non-finite value(s) ({shown}): counted as failed measurements "
            f"and left out{pairs} of this test")
    if paired:
        keep = ~(bad_b | bad_t)
        return b[keep], t[keep], int(bad_b.sum()), int(bad_t.sum()), note
    return b[~bad_b], t[~bad_t], int(bad_b.sum()), int(bad_t.sum()), note


class Hypothesis:
    """A claim about one metric, checked for every treatment against the baseline.

    Args:
        metric: the metric the claim is about.
        statistical_test: the test that decides it (default: ``PairedTTest``,
            the stronger choice under common random numbers).
        alpha: the significance level.
        direction: ``"increase"`` or ``"decrease"`` (the treatment moves the
            metric that way), ``"equal"`` (equivalent within ``margin``, by two
            one-sided tests), ``"no_worse"`` (not worse by more than
            ``margin``), or ``None`` (any significant difference).
        name: the name shown in results (default: ``metric``).
        margin: the equivalence or non-inferiority margin.
        margin_relative: read ``margin`` as a fraction of the baseline mean
            (tested as the contrast ``treatment - (1 -+ margin) * baseline``, so
            the baseline mean's own uncertainty counts).
        higher_is_better: for ``"no_worse"``, required: ``True`` when larger
            values are better (accuracy), ``False`` when smaller are (a loss,
            latency).
        family: hypotheses adjusted together for multiple comparisons
            (default ``"default"``): a guard-rail family of its own does not cost
            the primary hypothesis power. Hypotheses of one family share ``alpha``.
        min_effect: in a sequential experiment, the smallest effect worth finding
            (in the metric's units): the hypothesis stops as "no effect >=
            min_effect" once its confidence sequence rules such an effect out.
        alpha_futility: the level of that futility check (the confidence
            sequence at ``1 - alpha_futility``); it does not change the
            false-positive rate.

    Raises:
        ValueError: invalid ``direction`` or ``alpha``.
        ExperimentDefinitionError: a margin or ``higher_is_better`` missing, a
            test that contradicts the direction, or a bad ``family``.
    """

    def __init__(
        self,
        metric: str,
        statistical_test: StatisticalTest | None = None,
        alpha: float = 0.05,
        direction: str | None = None,
        name: str | None = None,
        *,
        margin: float | None = None,
        margin_relative: bool = False,
        higher_is_better: bool | None = None,
        family: str | None = None,
        min_effect: float | None = None,
        alpha_futility: float = 0.10,
    ) -> None:
        label = name or metric
        if not isinstance(metric, str) or not metric:
            raise ExperimentDefinitionError(f"Hypothesis needs a metric name, got {metric!r}")
        if direction not in DIRECTIONS:
            raise ValueError(
                f"Hypothesis {label!r}: direction={direction!r} is not valid; "
                f"use one of {', '.join(map(repr, DIRECTIONS))}"
            )
        if isinstance(alpha, bool) or not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
            raise ValueError(f"Hypothesis {label!r}: alpha={alpha!r} must lie strictly between 0 and 1")
        if direction in _NEEDS_MARGIN and (margin is None or not margin > 0):
            raise ExperimentDefinitionError(
                f"Hypothesis {label!r}: direction={direction!r} needs a positive margin= "
                "(the largest difference that still counts as "
                f"{'equivalent' if direction == 'equal' else 'not worse'}); a non-significant difference "
                "is not evidence of equivalence"
            )
        if direction == "no_worse" and higher_is_better is None:
            raise ExperimentDefinitionError(
                f"Hypothesis {label!r}: direction='no_worse' needs higher_is_better=True (larger {metric!r} is "
                f"better, e.g. accuracy) or higher_is_better=False (smaller is better, e.g. a loss or latency), "
                "so that 'worse' means what you intend"
            )
        if higher_is_better is not None and not isinstance(higher_is_better, bool):
            raise ExperimentDefinitionError(
                f"Hypothesis {label!r}: higher_is_better must be True or False, got {higher_is_better!r}")
        if min_effect is not None and (isinstance(min_effect, bool) or not isinstance(min_effect, (int, float))
                                       or not 0 < min_effect < math.inf):
            raise ExperimentDefinitionError(
                f"Hypothesis {label!r}: min_effect must be a positive number in the metric's units, got {min_effect!r}")
        if isinstance(alpha_futility, bool) or not isinstance(alpha_futility, (int, float)) \
                or not 0 < alpha_futility < 1:
            raise ExperimentDefinitionError(
                f"Hypothesis {label!r}: alpha_futility={alpha_futility!r} must lie strictly between 0 and 1")
        if family is not None and (not isinstance(family, str) or not family):
            raise ExperimentDefinitionError(f"Hypothesis {label!r}: family must be a non-empty name, got {family!r}")
        alternative = getattr(statistical_test, "alternative", "two-sided")
        if (direction, alternative) in (("increase", "less"), ("decrease", "greater")):
            raise ExperimentDefinitionError(
                f"Hypothesis {label!r}: direction={direction!r} contradicts the test's "
                f"alternative={alternative!r}; use alternative="
                f"{'greater' if direction == 'increase' else 'less'!r} or 'two-sided'"
            )
        if statistical_test is None:
            from crystallize.core.stat_test import PairedTTest  # noqa: PLC0415 - avoids a cycle at import

            statistical_test = PairedTTest()
        if not isinstance(statistical_test, StatisticalTest):
            raise ExperimentDefinitionError(
                f"Hypothesis {label!r}: statistical_test must be a StatisticalTest instance "
                f"(e.g. WelchTTest()), got {statistical_test!r}"
            )
        self.metric = metric
        self.statistical_test = statistical_test
        self.alpha = float(alpha)
        self.direction = direction
        self.name = label
        self.margin = margin
        self.margin_relative = bool(margin_relative)
        self.higher_is_better = higher_is_better
        self.family = family or DEFAULT_FAMILY
        self.min_effect = float(min_effect) if min_effect is not None else None
        self.alpha_futility = float(alpha_futility)

    def describe(self) -> dict[str, Any]:
        """The hypothesis as JSON-ready data."""
        return {
            "name": self.name, "metric": self.metric, "direction": self.direction, "alpha": self.alpha,
            "test": self.statistical_test.test_name, "test_repr": repr(self.statistical_test),
            "paired": self.statistical_test.paired, "margin": self.margin,
            "margin_relative": self.margin_relative, "higher_is_better": self.higher_is_better,
            "family": self.family, "min_effect": self.min_effect, "alpha_futility": self.alpha_futility,
        }

    @property
    def one_sided(self) -> bool:
        """Whether the decision is one-sided: a one-sided test, equivalence or non-inferiority."""
        return self.direction in _NEEDS_MARGIN or self.statistical_test.alternative != "two-sided"

    def interval_level(self, comparisons: int = 1) -> float:
        """The two-sided level of the interval that matches this hypothesis's decision.

        ``1 - alpha`` for a two-sided test; ``1 - 2 alpha`` for a one-sided decision,
        whose relevant end is then the one-sided ``1 - alpha`` bound. With
        ``comparisons > 1``, ``alpha`` is shared among them (Bonferroni).
        """
        share = self.alpha / comparisons
        return 1 - 2 * share if self.one_sided else 1 - share

    # -- the contract's mapping view -------------------------------------------
    def verify(
        self, baseline_metrics: Mapping[str, Sequence[Any]], treatment_metrics: Mapping[str, Sequence[Any]]
    ) -> dict[str, Any]:
        """Test the claim on ``{metric: [samples]}`` of each side.

        NaN entries (failed runs in ``result.metrics``) are left out, with their
        pairs for a paired test.

        Returns:
            The verdict as a mapping: ``p_value``, ``significant``, ``accepted``,
            effect size, estimate, interval, means and sample sizes.

        Raises:
            MissingMetricError: a side has no samples of ``metric``.
        """
        for condition, metrics in (("baseline", baseline_metrics), ("treatment", treatment_metrics)):
            if self.metric not in metrics:
                raise MissingMetricError(self.metric, metrics, condition=condition)
        return self.evaluate(baseline_metrics[self.metric], treatment_metrics[self.metric]).as_dict()

    # -- the typed view ------------------------------------------------------
    def evaluate(
        self,
        baseline: Sequence[Any],
        treatment: Sequence[Any],
        *,
        treatment_name: str = "treatment",
        failed: tuple[int, int] = (0, 0),
        replicates: tuple[Sequence[int], Sequence[int]] | None = None,
        comparisons: int = 1,
        simultaneous: bool = False,
    ) -> Verdict:
        """Decide the claim for one treatment; never raises for degenerate data.

        Args:
            baseline: the baseline's samples of the metric.
            treatment: the treatment's samples; with a paired test,
                ``treatment[i]`` and ``baseline[i]`` come from the same replicate.
            treatment_name: the treatment's name, for the verdict.
            failed: runs that failed on each side (for the failure counts).
            replicates: the replicate of each sample on each side, for notes.
            comparisons: comparisons in this hypothesis's family.
            simultaneous: widen the interval to a Bonferroni-simultaneous one
                over ``comparisons``.
        """
        test = self.statistical_test
        base = Verdict(
            hypothesis=self.name, metric=self.metric, treatment=treatment_name, direction=self.direction,
            test=test.test_name, alpha=self.alpha, n_baseline=len(baseline), n_treatment=len(treatment),
            failed_baseline=failed[0], failed_treatment=failed[1], margin=self.margin,
            margin_relative=self.margin_relative if self.margin is not None else False,
            higher_is_better=self.higher_is_better, alternative=test.alternative, family=self.family,
            comparisons=comparisons,
        )
        non_numeric = [v for v in (*baseline, *treatment) if not is_number(v) and not _is_missing(v)]
        if non_numeric:
            kind = type(non_numeric[0]).__name__
            return replace(base, status="skipped", notes=(
                f"metric {self.metric!r} is not numeric ({kind}); kept in the results, not tested",))
        b, t, lost_b, lost_t, dropped = _finite_samples(
            [math.nan if v is None else v for v in baseline], [math.nan if v is None else v for v in treatment],
            paired=test.paired, metric=self.metric, treatment_name=treatment_name, replicates=replicates)
        base = replace(
            base, n_baseline=b.size, n_treatment=t.size, n_pairs=b.size if test.paired else None,
            failed_baseline=failed[0] + lost_b, failed_treatment=failed[1] + lost_t,
            mean_baseline=float(b.mean()) if b.size else None, mean_treatment=float(t.mean()) if t.size else None,
            sd_baseline=float(b.std(ddof=1)) if b.size > 1 else None, notes=(dropped,) if dropped else (),
        )
        if min(b.size, t.size) < test.min_samples:
            note = (f"insufficient data: {test.test_name} needs at least {test.min_samples} samples per side, "
                    f"got {b.size} baseline and {t.size} {treatment_name}")
            warn(f"hypothesis {self.name!r} vs {treatment_name!r}: {note}", InsufficientDataWarning)
            return replace(base, status="insufficient data", notes=base.notes + (note,))
        level = self.interval_level(comparisons if simultaneous else 1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outcome = (margin_outcome(str(self.direction), b, t, margin=float(self.margin or 0.0),
                                      relative=self.margin_relative, higher_is_better=self.higher_is_better,
                                      test=test, level=level)
                       if self.direction in _NEEDS_MARGIN else
                       test_outcome(test, b, t, alpha=self.alpha, level=level))
        for w in caught:
            if not issubclass(w.category, RuntimeWarning):
                warn(w.message, w.category)
        if isinstance(outcome, str):
            return replace(base, status="skipped", notes=base.notes + (outcome,))
        notes = [*base.notes, *outcome.notes]
        notes += [str(w.message) for w in caught if issubclass(w.category, (DegenerateDataWarning, RuntimeWarning))]
        return self._decide(base, outcome, notes, level, simultaneous)

    def _decide(self, base: Verdict, outcome: Outcome, notes: list[str], level: float,
                simultaneous: bool) -> Verdict:
        """The verdict from a test's outcome: significance, direction, interval."""
        decided = outcome.significant is not None
        if decided:
            significant = bool(outcome.significant)
            notes.append(f"{outcome.test} decided significance itself; its decision stands and is not adjusted "
                         "for multiple comparisons")
        elif outcome.p_value is None:
            notes.append(f"{outcome.test} returned neither a p-value nor a decision (significant=...); "
                         "nothing to decide")
            return replace(base, status="skipped", test=outcome.test, notes=tuple(dict.fromkeys(notes)))
        else:
            significant = outcome.p_value < self.alpha
        estimate, estimand = outcome.estimate, outcome.estimand
        if estimate is None and base.mean_difference is not None:
            estimate, estimand = base.mean_difference, "mean_difference"
        matches = self._direction_matches(estimate, outcome.effect_size, estimand, notes)
        ci_level = outcome.ci_level
        if simultaneous and outcome.ci is not None and ci_level != level:
            notes.append(f"{outcome.test} set its own interval; it is not simultaneous")
        return replace(
            base, test=outcome.test, statistic=outcome.statistic, p_value=outcome.p_value,
            p_value_adjusted=None if decided else outcome.p_value, significant=significant,
            accepted=significant and matches, direction_matches=matches, decided_by_test=decided,
            effect_size=outcome.effect_size, effect_size_name=outcome.effect_size_name,
            estimate=estimate, estimand=estimand, ci=outcome.ci, ci_level=ci_level,
            ci_simultaneous=simultaneous and outcome.ci is not None and ci_level == level,
            notes=tuple(dict.fromkeys(notes)), details=dict(outcome.details),
        )

    def _direction_matches(self, estimate: float | None, effect: float | None, estimand: str | None,
                           notes: list[str]) -> bool:
        """Whether the test's own estimate goes the hypothesised way.

        A one-sided test (and equivalence, non-inferiority) decides its direction
        itself, so it always matches; a two-sided test's direction is the sign of
        its estimate (the effect size's when the estimate is exactly 0).
        """
        if self.direction not in ("increase", "decrease") or self.one_sided:
            return True
        sign = estimate if estimate else effect
        if not sign:
            notes.append(f"the test's estimate is 0: no direction to match {self.direction!r}")
            return False
        if (sign > 0) == (self.direction == "increase"):
            return True
        what = ESTIMANDS.get(str(estimand), "estimate")
        shown = f"{estimate:+.4g}" if estimate is not None else f"effect {effect:+.4g}"
        notes.append(f"the {what} ({shown}) goes against the hypothesised direction ({self.direction})")
        return False

    def __repr__(self) -> str:
        family = f", family={self.family!r}" if self.family != DEFAULT_FAMILY else ""
        return (f"Hypothesis(metric={self.metric!r}, direction={self.direction!r}, "
                f"statistical_test={self.statistical_test!r}, alpha={self.alpha}, name={self.name!r}{family})")


def _is_missing(value: Any) -> bool:
    """``None``: a run that produced no value (``result.metrics`` uses NaN, older lists None)."""
    return value is None
