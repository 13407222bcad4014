"""Two-sample t-tests: Welch, Student and paired, with Hedges' g or d_z."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from crystallize.stats._effect_size import cohens_dz, hedges_g, sample_var
from crystallize.stats._result import ConfidenceInterval, TestResult, two_sample_result
from crystallize.stats._validation import (
    Alternative,
    FloatArray,
    check_test_args,
    degenerate,
    is_constant,
)

__all__ = ["paired_ttest", "student_ttest", "welch_ttest"]

TKind = Literal["welch", "student", "paired"]


def _exact_mean(x: FloatArray) -> float:
    """The mean, exact for constant samples (``np.mean`` rounds differently with n)."""
    return float(x[0]) if x.size and np.ptp(x) == 0.0 else float(np.mean(x))


def difference_se_df(b: FloatArray, t: FloatArray, kind: TKind) -> tuple[float, float, float]:
    """Return the mean difference (treatment minus baseline), its standard error and df."""
    if kind == "paired":
        d = t - b
        n = d.size
        return float(np.mean(d)), math.sqrt(sample_var(d) / n), float(n - 1)
    nb, nt = b.size, t.size
    vb, vt = sample_var(b), sample_var(t)
    diff = _exact_mean(t) - _exact_mean(b)
    if kind == "student":
        df = float(nb + nt - 2)
        sp2 = ((nb - 1) * vb + (nt - 1) * vt) / df
        return diff, math.sqrt(sp2 * (1 / nb + 1 / nt)), df
    qb, qt = vb / nb, vt / nt
    se2 = qb + qt
    df = se2**2 / (qb**2 / (nb - 1) + qt**2 / (nt - 1)) if se2 > 0 else float(nb + nt - 2)
    return diff, math.sqrt(se2), df


def t_interval(diff: float, se: float, df: float, level: float) -> ConfidenceInterval:
    """Two-sided t interval ``diff +- t_{(1+level)/2, df} * se``."""
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se if se > 0 else 0.0
    return ConfidenceInterval(diff - half, diff + half, level)


def shifted_t(diff: float, se: float, df: float, alternative: Alternative) -> tuple[float, float]:
    """t statistic and p-value of ``diff`` against zero, defined when ``se == 0``."""
    if se > 0:
        stat = diff / se
        if alternative == "greater":
            return stat, float(stats.t.sf(stat, df))
        if alternative == "less":
            return stat, float(stats.t.cdf(stat, df))
        return stat, float(min(1.0, 2 * stats.t.sf(abs(stat), df)))
    return zero_se_t(diff, alternative)


def zero_se_t(diff: float, alternative: Alternative) -> tuple[float, float]:
    """Statistic and p-value when the standard error is zero: p is 0 or 1."""
    if diff == 0.0:
        return 0.0, 1.0
    stat = math.copysign(math.inf, diff)
    if alternative == "two-sided":
        return stat, 0.0
    return stat, 0.0 if (diff > 0) == (alternative == "greater") else 1.0


def mean_difference_result(
    test: str, statistic: float, p_value: float, alternative: str, b: FloatArray, t: FloatArray,
    paired: bool, diff_se_df: tuple[float, float, float], level: float, notes: list[str],
) -> TestResult:
    """A result with Hedges' g (Cohen's d_z when ``paired``) and the t interval of the difference."""
    return two_sample_result(
        test,
        statistic,
        p_value,
        alternative,
        b,
        t,
        paired=paired,
        effect_size=cohens_dz(b, t) if paired else hedges_g(b, t),
        effect_size_name="cohens_dz" if paired else "hedges_g",
        ci=t_interval(*diff_se_df, level),
        notes=notes,
    )


def _ttest(
    baseline: ArrayLike,
    treatment: ArrayLike,
    kind: TKind,
    alternative: Alternative,
    confidence_level: float,
) -> TestResult:
    paired = kind == "paired"
    b, t, alternative, level = check_test_args(
        baseline, treatment, alternative, confidence_level, paired=paired
    )
    diff, se, df = difference_se_df(b, t, kind)
    notes: list[str] = []
    zero_var = is_constant(t - b) if paired else is_constant(b) and is_constant(t)
    if zero_var:
        stat, p = zero_se_t(diff, alternative)
        what = "all paired differences are equal" if paired else "both samples are constant"
        outcome = "p-value set to 1" if diff == 0.0 else f"p-value set to {p:g}"
        degenerate(f"{what} (zero variance); {outcome}", notes)
        se = 0.0
    else:  # the formulas of scipy.stats.ttest_ind / ttest_rel, without their NaN paths
        stat, p = shifted_t(diff, se, df, alternative)
    test = {"welch": "welch_t", "student": "student_t", "paired": "paired_t"}[kind]
    return mean_difference_result(test, stat, p, alternative, b, t, paired, (diff, se, df), level, notes)


def welch_ttest(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> TestResult:
    """Welch's unequal-variance t-test of treatment minus baseline.

    The p-value equals ``scipy.stats.ttest_ind(treatment, baseline,
    equal_var=False, alternative=alternative)``. The effect size is Hedges' g and
    ``ci`` is the two-sided Welch interval of the mean difference (two-sided even
    for a one-sided ``alternative``). Constant samples give a defined answer and a
    :class:`~crystallize.stats.warnings.DegenerateDataWarning`.

    Args:
        baseline: baseline samples (at least 2, finite).
        treatment: treatment samples (at least 2, finite).
        alternative: ``"two-sided"``, ``"greater"`` (treatment above baseline) or ``"less"``.
        confidence_level: level of ``ci`` in (0, 1).

    Returns:
        A :class:`TestResult`.

    Raises:
        ValueError: for fewer than 2 samples on a side, non-finite values or bad options.

    References:
        Welch, B. L. (1947). The generalization of "Student's" problem when several
        different population variances are involved. Biometrika 34, 28-35.

    Examples:
        >>> r = welch_ttest([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0])
        >>> round(r.p_value, 4), round(r.ci.low, 3), round(r.ci.high, 3)
        (0.071, -0.234, 4.234)
    """
    return _ttest(baseline, treatment, "welch", alternative, confidence_level)


def student_ttest(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> TestResult:
    """Student's pooled-variance t-test of treatment minus baseline.

    The p-value equals ``scipy.stats.ttest_ind(treatment, baseline,
    equal_var=True, alternative=alternative)``; effect size Hedges' g; ``ci`` is
    the two-sided pooled-variance interval of the mean difference.

    Args:
        baseline: baseline samples (at least 2, finite).
        treatment: treatment samples (at least 2, finite).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        confidence_level: level of ``ci`` in (0, 1).

    Returns:
        A :class:`TestResult`.

    Raises:
        ValueError: for fewer than 2 samples on a side, non-finite values or bad options.

    References:
        Student (1908). The probable error of a mean. Biometrika 6, 1-25.

    Examples:
        >>> r = student_ttest([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0], alternative="greater")
        >>> round(r.p_value, 4), round(r.effect_size, 4)
        (0.0355, 1.3457)
    """
    return _ttest(baseline, treatment, "student", alternative, confidence_level)


def paired_ttest(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> TestResult:
    """Paired t-test on the differences ``treatment[i] - baseline[i]``.

    The p-value equals ``scipy.stats.ttest_rel(treatment, baseline,
    alternative=alternative)``; effect size Cohen's d_z; ``ci`` is the two-sided
    interval of the mean difference.

    Args:
        baseline: baseline samples, replicate order (at least 2 pairs).
        treatment: treatment samples, same replicates and order.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        confidence_level: level of ``ci`` in (0, 1).

    Returns:
        A :class:`TestResult` with ``n_pairs`` set.

    Raises:
        ValueError: for unequal lengths, fewer than 2 pairs, non-finite values or bad options.

    References:
        Student (1908). The probable error of a mean. Biometrika 6, 1-25.

    Examples:
        >>> r = paired_ttest([1.0, 2.0, 3.0, 4.0], [1.5, 2.9, 3.6, 4.4])
        >>> round(r.p_value, 4), r.n_pairs
        (0.0115, 4)
    """
    return _ttest(baseline, treatment, "paired", alternative, confidence_level)
