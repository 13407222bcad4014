"""Result values shared by every statistical test: intervals and verdict numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from crystallize.stats._validation import FloatArray

__all__ = ["ConfidenceInterval", "TestResult", "two_sample_result"]


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    """A two-sided confidence interval.

    Attributes:
        low: lower bound.
        high: upper bound.
        level: confidence level in (0, 1), e.g. ``0.95``.
    """

    low: float
    high: float
    level: float

    def as_tuple(self) -> tuple[float, float]:
        """Return ``(low, high)``."""
        return (self.low, self.high)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, (int, float)):
            return False
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class TestResult:
    """The numbers a two-sample comparison produces.

    ``difference`` always means treatment minus baseline.

    Attributes:
        test: short name of the test, e.g. ``"welch_t"``.
        statistic: the test statistic (see each test for its definition).
        p_value: the p-value in [0, 1]; never NaN.
        alternative: ``"two-sided"``, ``"greater"`` (treatment above baseline),
            ``"less"``, or ``"equivalence"`` for TOST.
        effect_size: the standardised effect (sign follows treatment minus baseline).
        effect_size_name: ``"hedges_g"``, ``"cohens_dz"`` or ``"rank_biserial"``.
        ci: two-sided confidence interval of ``estimate``; ``None`` when no
            interval reaches the level (exact rank intervals with very few samples).
        n_baseline: number of baseline samples.
        n_treatment: number of treatment samples.
        n_pairs: number of pairs for paired tests, else ``None``.
        mean_baseline: mean of the baseline samples.
        mean_treatment: mean of the treatment samples.
        notes: remarks on degenerate data or approximations, in plain words.
        estimate: the difference the test is about, treatment minus baseline:
            the mean difference for t and permutation tests, the Hodges-Lehmann
            shift for Mann-Whitney, the pseudo-median of the paired differences
            for Wilcoxon. Its sign is the direction the test found.
        estimand: what ``estimate`` is: ``"mean_difference"``,
            ``"hodges_lehmann_shift"`` or ``"pseudo_median"``.
    """

    __test__ = False  # not a pytest test class despite its name

    test: str
    statistic: float
    p_value: float
    alternative: str
    effect_size: float
    effect_size_name: str
    ci: ConfidenceInterval | None
    n_baseline: int
    n_treatment: int
    n_pairs: int | None
    mean_baseline: float
    mean_treatment: float
    notes: tuple[str, ...] = ()
    estimate: float = math.nan
    estimand: str = "mean_difference"

    @property
    def mean_difference(self) -> float:
        """``mean_treatment - mean_baseline``."""
        return self.mean_treatment - self.mean_baseline

    def significant(self, alpha: float = 0.05) -> bool:
        """Return whether ``p_value < alpha``.

        Raises:
            ValueError: if ``alpha`` is not in (0, 1).
        """
        if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 1.0):
            raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
        return self.p_value < alpha

    def as_dict(self) -> dict[str, Any]:
        """Return a plain dict of the fields, with ``ci`` as ``(low, high)``."""
        return {
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "alternative": self.alternative,
            "effect_size": self.effect_size,
            "effect_size_name": self.effect_size_name,
            "ci": self.ci.as_tuple() if self.ci is not None else None,
            "confidence_level": self.ci.level if self.ci is not None else None,
            "n_baseline": self.n_baseline,
            "n_treatment": self.n_treatment,
            "n_pairs": self.n_pairs,
            "mean_baseline": self.mean_baseline,
            "mean_treatment": self.mean_treatment,
            "notes": self.notes,
            "estimate": self.estimate,
            "estimand": self.estimand,
        }

    def __post_init__(self) -> None:
        if math.isnan(self.p_value) or not 0.0 <= self.p_value <= 1.0:
            raise ValueError(f"`p_value` must be in [0, 1], got {self.p_value!r}")
        if math.isnan(self.estimate):  # the mean difference unless the test names another estimand
            object.__setattr__(self, "estimate", self.mean_treatment - self.mean_baseline)


def two_sample_result(
    test: str,
    statistic: float,
    p_value: float,
    alternative: str,
    b: FloatArray,
    t: FloatArray,
    *,
    paired: bool,
    effect_size: float,
    effect_size_name: str,
    ci: ConfidenceInterval | None,
    notes: list[str],
    estimate: float = math.nan,
    estimand: str = "mean_difference",
) -> TestResult:
    """Build a :class:`TestResult`, taking sizes and means from the validated samples.

    ``n_pairs`` is the sample size when ``paired``, else ``None``.
    """
    return TestResult(
        test=test,
        statistic=statistic,
        p_value=p_value,
        alternative=alternative,
        effect_size=effect_size,
        effect_size_name=effect_size_name,
        ci=ci,
        n_baseline=int(b.size),
        n_treatment=int(t.size),
        n_pairs=int(b.size) if paired else None,
        mean_baseline=float(np.mean(b)),
        mean_treatment=float(np.mean(t)),
        notes=tuple(notes),
        estimate=estimate,
        estimand=estimand,
    )
