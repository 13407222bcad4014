"""A hypothesis: which metric should move, which way, judged by which test."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np

from crystallize.core.exceptions import (
    DegenerateDataWarning,
    ExperimentDefinitionError,
    InsufficientDataWarning,
    InvalidMetricError,
    MissingMetricError,
)
from crystallize.core.record import is_number
from crystallize.core.stat_test import StatisticalTest
from crystallize.core.verdict import Verdict
from crystallize.stats.warnings import warn

__all__ = ["DIRECTIONS", "Hypothesis"]

#: Allowed values of ``Hypothesis(direction=...)``.
DIRECTIONS: tuple[str | None, ...] = ("increase", "decrease", "equal", "no_worse", None)
_NEEDS_MARGIN = ("equal", "no_worse")


def _finite_floats(samples: Sequence[Any], metric: str, condition: str) -> np.ndarray:
    values = np.asarray([float(v) for v in samples], dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        where = ", ".join(f"sample {i}: {values[i]}" for i in np.flatnonzero(bad)[:5])
        raise InvalidMetricError(metric, condition, f"holds NaN or infinite values ({where})")
    return values


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
        margin_relative: read ``margin`` as a fraction of the baseline mean.
        higher_is_better: for ``"no_worse"``, which way is worse.

    Raises:
        ValueError: invalid ``direction`` or ``alpha``, or a margin missing.
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
        higher_is_better: bool = True,
    ) -> None:
        if not isinstance(metric, str) or not metric:
            raise ExperimentDefinitionError(f"Hypothesis needs a metric name, got {metric!r}")
        if direction not in DIRECTIONS:
            raise ValueError(
                f"Hypothesis {name or metric!r}: direction={direction!r} is not valid; "
                f"use one of {', '.join(map(repr, DIRECTIONS))}"
            )
        if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
            raise ValueError(f"Hypothesis {name or metric!r}: alpha={alpha!r} must lie strictly between 0 and 1")
        if direction in _NEEDS_MARGIN and (margin is None or margin <= 0):
            raise ExperimentDefinitionError(
                f"Hypothesis {name or metric!r}: direction={direction!r} needs a positive margin= "
                "(the largest difference that still counts as "
                f"{'equivalent' if direction == 'equal' else 'not worse'}); a non-significant difference "
                "is not evidence of equivalence"
            )
        alternative = getattr(statistical_test, "alternative", "two-sided")
        if (direction, alternative) in (("increase", "less"), ("decrease", "greater")):
            raise ExperimentDefinitionError(
                f"Hypothesis {name or metric!r}: direction={direction!r} contradicts the test's "
                f"alternative={alternative!r}; use alternative="
                f"{'greater' if direction == 'increase' else 'less'!r} or 'two-sided'"
            )
        if statistical_test is None:
            from crystallize.core.stat_test import PairedTTest  # noqa: PLC0415 - avoids a cycle at import

            statistical_test = PairedTTest()
        if not isinstance(statistical_test, StatisticalTest):
            raise ExperimentDefinitionError(
                f"Hypothesis {name or metric!r}: statistical_test must be a StatisticalTest instance "
                f"(e.g. WelchTTest()), got {statistical_test!r}"
            )
        self.metric = metric
        self.statistical_test = statistical_test
        self.alpha = float(alpha)
        self.direction = direction
        self.name = name or metric
        self.margin = margin
        self.margin_relative = margin_relative
        self.higher_is_better = higher_is_better

    def describe(self) -> dict[str, Any]:
        """The hypothesis as JSON-ready data."""
        return {
            "name": self.name, "metric": self.metric, "direction": self.direction, "alpha": self.alpha,
            "test": self.statistical_test.test_name, "test_repr": repr(self.statistical_test),
            "paired": self.statistical_test.paired, "margin": self.margin,
            "margin_relative": self.margin_relative, "higher_is_better": self.higher_is_better,
        }

    # -- the contract's mapping view -------------------------------------------
    def verify(
        self, baseline_metrics: Mapping[str, Sequence[Any]], treatment_metrics: Mapping[str, Sequence[Any]]
    ) -> dict[str, Any]:
        """Test the claim on ``{metric: [samples]}`` of each side.

        Returns:
            The verdict as a mapping: ``p_value``, ``significant``, ``accepted``,
            effect size, interval, means and sample sizes.

        Raises:
            MissingMetricError: a side has no samples of ``metric``.
            InvalidMetricError: a sample is NaN or infinite.
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
    ) -> Verdict:
        """Decide the claim for one treatment; never raises for degenerate data.

        With a paired test, ``baseline[i]`` and ``treatment[i]`` must come from
        the same replicate.
        """
        test = self.statistical_test
        base = Verdict(
            hypothesis=self.name, metric=self.metric, treatment=treatment_name, direction=self.direction,
            test=test.test_name, alpha=self.alpha, n_baseline=len(baseline), n_treatment=len(treatment),
            n_pairs=min(len(baseline), len(treatment)) if test.paired else None,
            failed_baseline=failed[0], failed_treatment=failed[1],
        )
        non_numeric = [v for v in (*baseline, *treatment) if not is_number(v)]
        if non_numeric:
            kind = type(non_numeric[0]).__name__
            return replace(base, status="skipped", notes=(
                f"metric {self.metric!r} is not numeric ({kind}); kept in the results, not tested",))
        b = _finite_floats(baseline, self.metric, "baseline")
        t = _finite_floats(treatment, self.metric, treatment_name)
        if test.paired and len(b) != len(t):
            raise ValueError(
                f"paired test {test.test_name!r} needs replicate-aligned samples of equal length, "
                f"got {len(b)} baseline and {len(t)} treatment samples"
            )
        base = replace(base, mean_baseline=float(b.mean()) if b.size else None,
                       mean_treatment=float(t.mean()) if t.size else None)
        if min(b.size, t.size) < test.min_samples:
            note = (f"insufficient data: {test.test_name} needs at least {test.min_samples} samples per side, "
                    f"got {b.size} baseline and {t.size} {treatment_name}")
            warn(f"hypothesis {self.name!r} vs {treatment_name!r}: {note}", InsufficientDataWarning)
            return replace(base, status="insufficient data", notes=(note,))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if self.direction in _NEEDS_MARGIN:
                outcome = self._margin_test(b, t)
            else:
                outcome = dict(test.run(cast(Sequence[float], b), cast(Sequence[float], t), alpha=self.alpha))
        notes = list(outcome.pop("notes", ()) or ())
        notes += [str(w.message) for w in caught if issubclass(w.category, (DegenerateDataWarning, RuntimeWarning))]
        for w in caught:
            if not issubclass(w.category, RuntimeWarning):
                warn(w.message, w.category)
        p_value = _clean_p(outcome.get("p_value"), notes)
        diff = float(t.mean() - b.mean())
        matches = {"increase": diff > 0, "decrease": diff < 0}.get(str(self.direction), True)
        if not matches:
            notes.append(f"the observed difference ({diff:+.4g}) goes against the hypothesised "
                         f"direction ({self.direction})")
        ci = outcome.get("ci")
        significant = p_value < self.alpha
        return replace(
            base, test=str(outcome.get("test") or test.test_name), margin=outcome.get("margin"), statistic=_float_or_none(outcome.get("statistic")),
            p_value=p_value, p_value_adjusted=p_value,
            significant=significant, accepted=significant and matches, direction_matches=matches,
            effect_size=_float_or_none(outcome.get("effect_size")),
            effect_size_name=outcome.get("effect_size_name"),
            ci=(float(ci[0]), float(ci[1])) if ci is not None else None,
            notes=tuple(dict.fromkeys(notes)),
            details={k: v for k, v in outcome.items() if k not in _CONSUMED},
        )

    def _margin_test(self, b: np.ndarray, t: np.ndarray) -> dict[str, Any]:
        """Equivalence (TOST) or non-inferiority, as a test outcome mapping.

        Both use t statistics (paired when the hypothesis's test is paired); the
        interval is at level ``1 - 2 * alpha``, the one that matches a one-sided
        decision at ``alpha``.
        """
        from crystallize.stats import noninferiority, tost  # noqa: PLC0415 - keeps import light

        assert self.margin is not None
        test = self.statistical_test
        margin = float(self.margin) * (abs(float(b.mean())) if self.margin_relative else 1.0)
        if margin <= 0:
            return {"test": self.direction, "p_value": 1.0, "margin": margin, "notes": [
                "the relative margin is 0 because the baseline mean is 0; the claim cannot be tested"]}
        level = 1 - 2 * self.alpha
        if self.direction == "equal":
            res = tost(b, t, low=-margin, high=margin, paired=test.paired, confidence_level=level)
            note = f"equivalence by two one-sided t-tests within ±{margin:g}"
        else:
            res = noninferiority(b, t, margin=margin, higher_is_better=self.higher_is_better,
                                 paired=test.paired, confidence_level=level)
            note = f"non-inferiority by a one-sided t-test with margin {margin:g}"
        out = res.as_dict()
        out["one_sided_tests"] = list(out.get("notes", ()))  # bounds and one-sided p-values, in details
        out["notes"] = [note]
        if test.test_name not in ("welch_t", "paired_t"):
            out["notes"].append(f"{test.test_name} has no margin form; decided by "
                                f"{'paired' if test.paired else 'Welch'} t statistics instead")
        out["test"] = f"{'tost' if self.direction == 'equal' else 'noninferiority'}"
        out["margin"] = margin
        return out

    def __repr__(self) -> str:
        return (f"Hypothesis(metric={self.metric!r}, direction={self.direction!r}, "
                f"statistical_test={self.statistical_test!r}, alpha={self.alpha}, name={self.name!r})")


_CONSUMED = {"p_value", "statistic", "significant", "effect_size", "effect_size_name", "ci", "notes",
             "n_baseline", "n_treatment", "n_pairs", "mean_baseline", "mean_treatment", "test", "margin"}


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _clean_p(value: Any, notes: list[str]) -> float:
    if value is None or not math.isfinite(float(value)):
        notes.append("the test returned no finite p-value; treated as 1.0 (not significant)")
        return 1.0
    return float(value)
