"""Effect sizes for two-sample comparisons (treatment minus baseline)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from crystallize.stats._validation import FloatArray, check_two_samples, zero_spread

__all__ = [
    "cohens_dz",
    "hedges_correction",
    "hedges_g",
    "mean_difference",
    "rank_biserial",
    "relative_difference",
]


def ratio(num: float, den: float) -> float:
    """``num / den`` with a defined value when ``den`` is zero (0 or +-inf)."""
    if den > 0.0:
        return num / den
    if num == 0.0:
        return 0.0
    return math.copysign(math.inf, num)


def mean_difference(baseline: ArrayLike, treatment: ArrayLike) -> float:
    """Difference of means, treatment minus baseline.

    Args:
        baseline: baseline samples (at least 2, finite).
        treatment: treatment samples (at least 2, finite).

    Returns:
        ``mean(treatment) - mean(baseline)``.

    Examples:
        >>> mean_difference([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
        1.0
    """
    b, t = check_two_samples(baseline, treatment)
    return float(np.mean(t) - np.mean(b))


def relative_difference(baseline: ArrayLike, treatment: ArrayLike) -> float:
    """Difference of means relative to the baseline mean's magnitude.

    Returns ``(mean(t) - mean(b)) / |mean(b)|``; when the baseline mean is zero the
    answer is ``0.0`` for equal means and ``+-inf`` otherwise (never NaN).

    Examples:
        >>> relative_difference([2.0, 2.0], [3.0, 3.0])
        0.5
        >>> relative_difference([-2.0, -2.0], [-1.0, -1.0])
        0.5
    """
    b, t = check_two_samples(baseline, treatment)
    mb = float(np.mean(b))
    return ratio(float(np.mean(t)) - mb, abs(mb))


def hedges_correction(df: float) -> float:
    """Exact small-sample correction ``J(df) = G(df/2) / (sqrt(df/2) G((df-1)/2))``.

    References:
        Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect
        size and related estimators. Journal of Educational Statistics 6(2), 107-128.

    Examples:
        >>> round(hedges_correction(18), 4)
        0.9576
    """
    if df <= 1:
        raise ValueError(f"`df` must be > 1, got {df!r}")
    return math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2) - 0.5 * math.log(df / 2))


def sample_var(x: FloatArray) -> float:
    """Unbiased variance, exactly 0 for data that vary by no more than rounding
    (``np.var`` may round above 0, and differences such as ``0.905 - 0.9`` and
    ``0.855 - 0.85`` differ in their last bits)."""
    return 0.0 if zero_spread(x) else float(np.var(x, ddof=1))


def pooled_sd(b: FloatArray, t: FloatArray) -> float:
    nb, nt = b.size, t.size
    ss = (nb - 1) * sample_var(b) + (nt - 1) * sample_var(t)
    return math.sqrt(float(ss) / (nb + nt - 2))


def hedges_g(baseline: ArrayLike, treatment: ArrayLike) -> float:
    """Hedges' g: Cohen's d on the pooled SD times the exact correction ``J``.

    With zero pooled variance the answer is ``0.0`` for equal means and ``+-inf``
    otherwise.

    References:
        Hedges, L. V. and Olkin, I. (1985). Statistical Methods for Meta-Analysis,
        ch. 5. Academic Press.

    Examples:
        >>> round(hedges_g([1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0]), 4)
        0.6728
    """
    b, t = check_two_samples(baseline, treatment)
    d = ratio(float(np.mean(t) - np.mean(b)), pooled_sd(b, t))
    return d * hedges_correction(b.size + t.size - 2) if math.isfinite(d) else d


def cohens_dz(baseline: ArrayLike, treatment: ArrayLike) -> float:
    """Cohen's d_z for paired samples: mean of differences over their SD.

    References:
        Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences,
        2nd ed., section 2.3.5. Erlbaum.

    Examples:
        >>> round(cohens_dz([1.0, 2.0, 3.0], [2.0, 4.0, 4.0]), 4)
        2.3094
    """
    b, t = check_two_samples(baseline, treatment, paired=True)
    d = t - b
    spread = 0.0 if zero_spread(d, b, t) else math.sqrt(sample_var(d))  # rounding of t - b is no spread
    return ratio(float(np.mean(d)), spread)


def rank_biserial_independent(b: FloatArray, t: FloatArray) -> float:
    from scipy import stats  # noqa: PLC0415 - only rank effects need it; t-tests stay light

    ranks = stats.rankdata(np.concatenate([t, b]))
    u_t = float(ranks[: t.size].sum()) - t.size * (t.size + 1) / 2
    return 2.0 * u_t / (t.size * b.size) - 1.0


def rank_biserial_paired(b: FloatArray, t: FloatArray) -> float:
    d = t - b
    d = d[d != 0.0]
    if d.size == 0:
        return 0.0
    from scipy import stats  # noqa: PLC0415

    ranks = stats.rankdata(np.abs(d))
    total = d.size * (d.size + 1) / 2
    return float(2.0 * float(ranks[d > 0].sum()) / total - 1.0)


def rank_biserial(baseline: ArrayLike, treatment: ArrayLike, *, paired: bool = False) -> float:
    """Rank-biserial correlation in [-1, 1]; positive when treatment ranks higher.

    Unpaired it is ``2 U_t / (n_t n_b) - 1``, i.e. P(T > B) - P(T < B) with ties
    counting half (the Mann-Whitney effect). Paired it is the matched-pairs
    version ``(R+ - R-) / (R+ + R-)`` over nonzero differences (zero when all
    differences are zero), the Wilcoxon signed-rank effect.

    References:
        Kerby, D. S. (2014). The simple difference formula: an approach to teaching
        nonparametric correlation. Comprehensive Psychology 3, 11.IT.3.1.

    Examples:
        >>> rank_biserial([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
        1.0
        >>> rank_biserial([1.0, 2.0, 3.0], [2.0, 1.0, 5.0], paired=True)
        0.5
    """
    if paired:
        b, t = check_two_samples(baseline, treatment, paired=True)
        return rank_biserial_paired(b, t)
    b, t = check_two_samples(baseline, treatment)
    return rank_biserial_independent(b, t)

