"""Relative margins: non-inferiority and equivalence of the ratio of means.

A margin ``m`` read as a fraction of the baseline mean bounds the treatment mean
by ``theta * mean_b`` with ``theta = 1 - m`` (or ``1 + m``; flipped for a
negative baseline mean). The baseline mean is estimated, so a margin of
``m * mean(b)`` tested as if it were a known constant ignores its sampling error
(type-I error 0.064-0.071 at a nominal 0.05). The right quantity is the contrast
``t - theta * b``: a one-sample t-test of ``t_i - theta * b_i`` when paired,
Welch's t-test of ``t`` against ``theta * b`` otherwise. The interval is Fieller's
for the ratio ``mu_t / mu_b``, reported as a relative difference (ratio - 1): at
level ``1 - 2 alpha`` its bounds lie beyond ``1 -+ m`` exactly when the paired
one-sided tests reject.

References:
    Fieller, E. C. (1954). Some problems in interval estimation. J. R. Statist.
    Soc. B 16, 175-185. Hauschke, D., Kieser, M. and Hothorn, L. A. (1999).
    Proof of safety in toxicology based on the ratio of two means for normally
    distributed data. Biometrical Journal 41, 295-304.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from crystallize.stats._effect_size import cohens_dz, hedges_g, sample_var
from crystallize.stats._equivalence import finite_number
from crystallize.stats._result import ConfidenceInterval, TestResult, two_sample_result
from crystallize.stats._scaling import scale_free
from crystallize.stats._ttests import shifted_t
from crystallize.stats._validation import (
    Alternative,
    FloatArray,
    check_confidence_level,
    check_paired,
    check_two_samples,
    degenerate,
    exact_extreme_p,
    zero_spread,
)

__all__ = ["relative_noninferiority", "relative_tost"]


def _contrast(b: FloatArray, t: FloatArray, theta: float, paired: bool) -> tuple[float, float, float, int]:
    """Estimate, standard error and df of ``mean_t - theta * mean_b``, and the
    permutation arrangements when it has zero variance (else 0)."""
    if paired:
        d = t - theta * b
        n = d.size
        if zero_spread(d, t, theta * b):
            return float(np.mean(d)), 0.0, float(n - 1), 2**n
        return float(np.mean(d)), math.sqrt(sample_var(d) / n), float(n - 1), 0
    qt, qb = sample_var(t) / t.size, theta**2 * sample_var(b) / b.size
    estimate = float(np.mean(t)) - theta * float(np.mean(b))
    if qt + qb == 0.0:
        return estimate, 0.0, float(b.size + t.size - 2), math.comb(b.size + t.size, t.size)
    df = (qt + qb) ** 2 / (qt**2 / (t.size - 1) + qb**2 / (b.size - 1))
    return estimate, math.sqrt(qt + qb), df, 0


def _one_sided(b: FloatArray, t: FloatArray, theta: float, paired: bool,
               alternative: Alternative) -> tuple[float, float]:
    """t and p of ``mu_t - theta * mu_b`` against 0 (exact permutation p for zero variance)."""
    estimate, se, df, arrangements = _contrast(b, t, theta, paired)
    stat, p = shifted_t(estimate, se, df, alternative)
    if arrangements:
        p = exact_extreme_p(estimate, alternative, arrangements)
    return stat, min(max(p, 0.0), 1.0)


def fieller_interval(b: FloatArray, t: FloatArray, paired: bool, level: float) -> ConfidenceInterval | None:
    """Fieller's interval of the relative difference ``(mu_t - mu_b) / |mu_b|``
    (the ratio ``mu_t / mu_b`` minus 1, sign-corrected for a negative baseline);
    ``None`` when it is unbounded (the baseline mean is not distinguishable from 0)."""
    mb, mt = float(np.mean(b)), float(np.mean(t))
    if paired:
        n = b.size
        vb, vt = sample_var(b) / n, sample_var(t) / n
        cov = float(np.cov(b, t, ddof=1)[0, 1]) / n if vb > 0 and vt > 0 else 0.0
        df = float(n - 1)
    else:
        vb, vt, cov = sample_var(b) / b.size, sample_var(t) / t.size, 0.0
        _, _, df, _ = _contrast(b, t, mt / mb if mb else 1.0, paired)
    q = float(stats.t.ppf(0.5 + level / 2, df)) ** 2
    a = mb**2 - q * vb
    if a <= 0.0:
        return None
    half_b = mt * mb - q * cov
    root = math.sqrt(max(half_b**2 - a * (mt**2 - q * vt), 0.0))
    sign = math.copysign(1.0, mb)
    low, high = sorted((sign * ((half_b - root) / a - 1.0), sign * ((half_b + root) / a - 1.0)))
    return ConfidenceInterval(low, high, level)


def _prepare(baseline: ArrayLike, treatment: ArrayLike, margin: object, paired: object,
             confidence_level: object) -> tuple[FloatArray, FloatArray, float, bool, float, float]:
    m = finite_number(margin, "margin")
    if not 0.0 < m:
        raise ValueError(f"`margin` must be a positive fraction of the baseline mean, got {margin!r}")
    level = check_confidence_level(confidence_level)
    is_paired = check_paired(paired)
    b, t = check_two_samples(baseline, treatment, paired=is_paired)
    mean_b = float(np.mean(b))
    if mean_b == 0.0:
        raise ValueError("a relative margin needs a baseline mean other than 0 (it is 0 here)")
    return b, t, m, is_paired, level, math.copysign(1.0, mean_b)


def _result(test: str, stat: float, p: float, alternative: str, b: FloatArray, t: FloatArray, paired: bool,
            level: float, notes: list[str]) -> TestResult:
    ci = fieller_interval(b, t, paired, level)
    if ci is None:
        notes.append(f"the {level:.4g} interval of the ratio is unbounded: the baseline mean is not "
                     "distinguishable from 0, so a relative margin means little here")
    return two_sample_result(
        test, stat, p, alternative, b, t, paired=paired,
        effect_size=cohens_dz(b, t) if paired else hedges_g(b, t),
        effect_size_name="cohens_dz" if paired else "hedges_g", ci=ci, notes=notes,
        estimate=(float(np.mean(t)) - float(np.mean(b))) / abs(float(np.mean(b))), estimand="relative_difference",
    )


@scale_free()
def relative_noninferiority(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    margin: float,
    higher_is_better: bool = True,
    paired: bool = False,
    confidence_level: float = 0.90,
) -> TestResult:
    """Non-inferiority with a margin relative to the baseline mean.

    With ``higher_is_better`` it rejects ``mu_t <= (1 - margin) * mu_b`` (for a
    positive baseline mean), otherwise ``mu_t >= (1 + margin) * mu_b``: the
    p-value equals ``scipy.stats.ttest_1samp(t - theta * b, 0,
    alternative=...)`` when paired and ``scipy.stats.ttest_ind(t, theta * b,
    equal_var=False, alternative=...)`` otherwise. ``estimate`` is the relative
    difference ``(mean_t - mean_b) / |mean_b|`` and ``ci`` Fieller's interval of
    it (``None`` when unbounded).

    Args:
        baseline: baseline samples (at least 2, finite, mean not 0).
        treatment: treatment samples (at least 2, finite; same length when paired).
        margin: the largest tolerated loss as a fraction of the baseline mean.
        higher_is_better: whether larger metric values are better.
        paired: replicate-aligned samples.
        confidence_level: level of ``ci`` (``1 - 2 alpha`` matches a decision at ``alpha``).

    Returns:
        A :class:`TestResult`.

    Raises:
        ValueError: for a non-positive margin, a zero baseline mean, too few samples or bad options.

    Examples:
        >>> r = relative_noninferiority([10.0, 10.4, 9.8, 10.1], [9.9, 10.3, 9.9, 10.0], margin=0.05, paired=True)
        >>> r.alternative, r.significant(0.05), round(r.estimate, 4)
        ('greater', True, -0.005)
    """
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise ValueError(f"`higher_is_better` must be True or False, got {higher_is_better!r}")
    b, t, m, paired_, level, sign = _prepare(baseline, treatment, margin, paired, confidence_level)
    alternative: Alternative = "greater" if higher_is_better else "less"
    theta = 1.0 - sign * m if higher_is_better else 1.0 + sign * m
    notes: list[str] = []
    stat, p = _one_sided(b, t, theta, paired_, alternative)
    if math.isinf(stat):
        degenerate(f"t - {theta:g} * b has zero variance: the p-value is the exact permutation one", notes)
    notes.append(f"relative margin {m:g}: tests mean_t {'>' if higher_is_better else '<'} {theta:g} * mean_b")
    return _result("relative_noninferiority", stat, p, alternative, b, t, paired_, level, notes)


@scale_free()
def relative_tost(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    margin: float,
    paired: bool = False,
    confidence_level: float = 0.90,
) -> TestResult:
    """Equivalence within a margin relative to the baseline mean, by two one-sided tests.

    Rejects both ``mu_t <= (1 - margin) mu_b`` and ``mu_t >= (1 + margin) mu_b``
    (bounds swap for a negative baseline mean) with the contrasts of
    :func:`relative_noninferiority`; the p-value is the larger of the two.

    Args:
        baseline: baseline samples (at least 2, finite, mean not 0).
        treatment: treatment samples (at least 2, finite; same length when paired).
        margin: the equivalence margin as a fraction of the baseline mean.
        paired: replicate-aligned samples.
        confidence_level: level of ``ci`` (``1 - 2 alpha`` matches a decision at ``alpha``).

    Returns:
        A :class:`TestResult` with ``alternative == "equivalence"``.

    Raises:
        ValueError: for a non-positive margin, a zero baseline mean, too few samples or bad options.
    """
    b, t, m, paired_, level, sign = _prepare(baseline, treatment, margin, paired, confidence_level)
    low, high = sorted((1.0 - sign * m, 1.0 + sign * m))
    t_low, p_low = _one_sided(b, t, low, paired_, "greater" if sign > 0 else "less")
    t_high, p_high = _one_sided(b, t, high, paired_, "less" if sign > 0 else "greater")
    notes = [f"relative margin {m:g}: mean_t within ({low:g}, {high:g}) * mean_b; "
             f"p_lower={p_low:.3g}, p_upper={p_high:.3g}"]
    stat, p = (t_low, p_low) if p_low >= p_high else (t_high, p_high)
    return _result("relative_tost", stat, p, "equivalence", b, t, paired_, level, notes)
