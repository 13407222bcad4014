"""Two-sample t-tests: Welch, Student and paired, with Hedges' g or d_z."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special  # the t distribution's functions, without loading scipy.stats

from crystallize.stats._effect_size import cohens_dz, hedges_g, sample_var
from crystallize.stats._result import ConfidenceInterval, TestResult, two_sample_result
from crystallize.stats._scaling import scale_free
from crystallize.stats._validation import (
    Alternative,
    FloatArray,
    check_test_args,
    degenerate,
    exact_extreme_p,
    zero_spread,
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
    half = float(special.stdtrit(df, 0.5 + level / 2)) * se if se > 0 else 0.0
    return ConfidenceInterval(diff - half, diff + half, level)


def shifted_t(diff: float, se: float, df: float, alternative: Alternative) -> tuple[float, float]:
    """t statistic and p-value of ``diff`` against zero, defined when ``se == 0``."""
    if se > 0:
        stat = diff / se
        if alternative == "greater":
            return stat, float(special.stdtr(df, -stat))
        if alternative == "less":
            return stat, float(special.stdtr(df, stat))
        return stat, float(min(1.0, 2 * special.stdtr(df, -abs(stat))))
    return zero_se_t(diff, alternative)


def zero_se_t(diff: float, alternative: Alternative) -> tuple[float, float]:
    """Statistic and p-value when the standard error is zero: p is 0 or 1."""
    if diff == 0.0:
        return 0.0, 1.0
    stat = math.copysign(math.inf, diff)
    if alternative == "two-sided":
        return stat, 0.0
    return stat, 0.0 if (diff > 0) == (alternative == "greater") else 1.0


def zero_variance_arrangements(b: FloatArray, t: FloatArray, paired: bool) -> int:
    """``0`` when the data vary; otherwise the number of equally likely permutation
    arrangements (``2**n`` sign patterns when paired, splits of the pooled samples otherwise)."""
    if paired:
        return 2**b.size if zero_spread(t - b, b, t) else 0
    return math.comb(b.size + t.size, t.size) if zero_spread(b) and zero_spread(t) else 0


def zero_variance_note(paired: bool, diff: float, arrangements: int, p: float) -> str:
    """Why a zero-variance comparison got the p-value it got."""
    what = "all paired differences are equal" if paired else "both samples are constant"
    if diff == 0.0:
        return f"{what} and the difference is 0 (zero variance); p-value set to 1"
    kind = "sign patterns" if paired else "splits of the pooled samples"
    return (f"{what} (zero variance): a t statistic says nothing about sampling variability there, so the "
            f"p-value ({p:.4g}) is the exact permutation one, the observed arrangement being the most extreme "
            f"of {arrangements} equally likely {kind}")


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
        estimate=diff_se_df[0],
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
    arrangements = zero_variance_arrangements(b, t, paired)
    if arrangements:
        stat, _ = zero_se_t(diff, alternative)
        p = exact_extreme_p(diff, alternative, arrangements)
        degenerate(zero_variance_note(paired, diff, arrangements, p), notes)
        se = 0.0
    else:  # the formulas of scipy.stats.ttest_ind / ttest_rel, without their NaN paths
        stat, p = shifted_t(diff, se, df, alternative)
    test = {"welch": "welch_t", "student": "student_t", "paired": "paired_t"}[kind]
    return mean_difference_result(test, stat, p, alternative, b, t, paired, (diff, se, df), level, notes)


@scale_free()
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
    :class:`~crystallize.stats.warnings.DegenerateDataWarning`: the t statistic is
    infinite there, so the p-value is the exact permutation one (the observed split
    is the most extreme of ``comb(n_b + n_t, n_t)``). Values of any magnitude work:
    extreme ones are rescaled by a power of two, which changes no result.

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


@scale_free()
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


@scale_free()
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
    interval of the mean difference. When every difference is the same (zero
    variance), the t statistic is infinite and the p-value is the exact sign-flip
    one instead: ``2**(1 - n)`` two-sided, so 3 equal differences give 0.25, not 0.

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
