"""Power of t-tests, equivalence (TOST) and non-inferiority tests, and the replicates
each needs (noncentral t; TOST integrated exactly over the sample sd)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

from scipy import stats

from crystallize.stats._validation import Alternative, check_alternative, check_paired

__all__ = ["noninferiority_power", "required_replicates", "required_replicates_noninferiority",
           "required_replicates_tost", "tost_power", "ttest_power"]

#: Replicates beyond which :func:`required_replicates` gives up.
MAX_REPLICATES = 10_000_000


def _power_iv(effect_size: object, alpha: object, alternative: object, paired: object) -> tuple[float, float, Alternative, bool]:
    if isinstance(effect_size, bool) or not isinstance(effect_size, (int, float)) or not math.isfinite(effect_size):
        raise ValueError(f"`effect_size` must be a finite number, got {effect_size!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
    return float(effect_size), float(alpha), check_alternative(alternative), check_paired(paired)


def _upper(x: float, df: float, nc: float) -> float:
    """P(T' > x) for noncentral t; SciPy's far tails can be NaN, so use symmetry."""
    value = float(stats.nct.sf(x, df, nc))
    if math.isnan(value):
        value = float(stats.nct.cdf(-x, df, -nc))
    if math.isnan(value):  # both forms failed: the tail is far out on one side
        value = 0.0 if nc < x else 1.0
    return min(max(value, 0.0), 1.0)


def _power(d: float, n: int, alpha: float, paired: bool, alternative: Alternative) -> float:
    if paired:
        df, nc = n - 1, d * math.sqrt(n)
    else:
        df, nc = 2 * n - 2, d * math.sqrt(n / 2)
    if alternative == "two-sided":
        crit = float(stats.t.isf(alpha / 2, df))
        return min(1.0, _upper(crit, df, nc) + _upper(crit, df, -nc))
    crit = float(stats.t.isf(alpha, df))
    return _upper(crit, df, nc if alternative == "greater" else -nc)


def ttest_power(
    effect_size: float,
    n: int,
    *,
    alpha: float = 0.05,
    paired: bool = False,
    alternative: Alternative = "two-sided",
) -> float:
    """Power of a t-test to detect a standardised effect, from the noncentral t.

    Unpaired: Student's test with ``n`` replicates per condition (df ``2n - 2``,
    noncentrality ``d sqrt(n/2)``), as ``statsmodels``' ``TTestIndPower``. Paired:
    ``n`` pairs and d_z (df ``n - 1``, noncentrality ``d sqrt(n)``), as
    ``TTestPower``. ``"greater"`` expects a positive effect (treatment above
    baseline). Two-sided power counts both rejection tails.

    Args:
        effect_size: Cohen's d (unpaired) or d_z (paired).
        n: replicates per condition, or pairs (at least 2).
        alpha: significance level in (0, 1).
        paired: paired design.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.

    Returns:
        The probability of a significant result, in [0, 1].

    Raises:
        ValueError: for bad arguments.

    References:
        Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences,
        2nd ed., ch. 2. Erlbaum.

    Examples:
        >>> round(ttest_power(0.5, 64), 4)
        0.8015
    """
    d, a, alt, is_paired = _power_iv(effect_size, alpha, alternative, paired)
    return _power(d, _n_iv(n), a, is_paired, alt)


def required_replicates(
    effect_size: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    paired: bool = False,
    alternative: Alternative = "two-sided",
) -> int:
    """Smallest whole number of replicates per condition reaching ``power``.

    Uses :func:`ttest_power` (exact noncentral t, not the normal approximation),
    so it equals ``ceil`` of statsmodels' ``TTestIndPower().solve_power`` (or
    ``TTestPower`` when paired), with at least 2.

    Args:
        effect_size: Cohen's d (unpaired) or d_z (paired); nonzero, and of the
            sign ``alternative`` expects when one-sided.
        alpha: significance level in (0, 1).
        power: target power in (alpha, 1).
        paired: paired design (the answer counts pairs).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.

    Returns:
        Replicates per condition (pairs when paired).

    Raises:
        ValueError: for bad arguments, an effect the test cannot detect, or a need
            beyond ten million replicates.

    References:
        Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences,
        2nd ed., ch. 2. Erlbaum.

    Examples:
        >>> required_replicates(0.5)
        64
        >>> required_replicates(0.5, paired=True)
        34
    """
    d, a, alt, is_paired = _power_iv(effect_size, alpha, alternative, paired)
    power = _target_iv(power, a)
    if d == 0.0 or (alt == "greater" and d < 0) or (alt == "less" and d > 0):
        raise ValueError(
            f"`effect_size`={effect_size!r} cannot be detected with alternative={alt!r}"
        )
    return _smallest_n(lambda n: _power(d, n, a, is_paired, alt), power, f"`effect_size`={effect_size!r}")


# -- equivalence (TOST) and non-inferiority -----------------------------------------------


def _design(n: int, paired: bool) -> tuple[int, float]:
    """Degrees of freedom and the standard error of the difference in sd units."""
    return (n - 1, 1 / math.sqrt(n)) if paired else (2 * n - 2, math.sqrt(2 / n))


def _bounds_iv(low: object, high: object) -> tuple[float, float]:
    values = []
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"`{name}` must be a finite number, got {value!r}")
        values.append(float(value))
    if not values[0] < values[1]:
        raise ValueError(f"`low` must be below `high`, got low={low!r}, high={high!r}")
    return values[0], values[1]


def _margin_iv(margin: object) -> float:
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not math.isfinite(margin) or margin <= 0:
        raise ValueError(f"`margin` must be a positive finite number, got {margin!r}")
    return float(margin)


def _n_iv(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"`n` must be an integer >= 2, got {n!r}")
    return n


def _tost_power(d: float, n: int, low: float, high: float, alpha: float, paired: bool) -> float:
    """P(both one-sided t-tests reject), integrated exactly over the sd's distribution.

    With ``s`` the sample sd (in units of the true one) and ``c`` the standard error
    factor, TOST rejects when ``low + t c s < mean difference < high - t c s``; the
    mean difference is normal and independent of ``s``, whose square times ``df`` is
    chi-square. The integral runs over the chi-square quantile (Owen's Q in effect).
    """
    from scipy import integrate, special  # noqa: PLC0415

    df, c = _design(n, paired)
    crit = float(stats.t.isf(alpha, df))
    top = df * ((high - low) / (2 * crit * c)) ** 2  # beyond this chi-square value the region is empty
    p_top = float(stats.chi2.cdf(top, df))
    if p_top <= 0.0:
        return 0.0

    def inside(p: float) -> float:
        s = math.sqrt(2.0 * float(special.gammaincinv(df / 2, p)) / df)  # chi-square quantile, fast form
        upper, lower = (high - crit * c * s - d) / c, (low + crit * c * s - d) / c
        return max(float(special.ndtr(upper) - special.ndtr(lower)), 0.0)

    with warnings.catch_warnings():  # quad may doubt its last digits; 1e-8 is far below what matters here
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(inside, 0.0, p_top, limit=200, epsabs=1e-10 * min(p_top, 1.0), epsrel=1e-8)
    return min(max(value, 0.0), 1.0)


def tost_power(
    effect_size: float,
    n: int,
    *,
    low: float,
    high: float,
    alpha: float = 0.05,
    paired: bool = False,
) -> float:
    """Power of an equivalence test (two one-sided t-tests) at a true standardised difference.

    The probability that :func:`tost` at ``alpha`` declares equivalence when the true
    difference (treatment minus baseline, in units of the sd) is ``effect_size`` and the
    equivalence bounds are ``(low, high)`` in the same units. Exact: both one-sided
    tests share one sample sd, so the joint rejection probability is integrated over
    its distribution (not the product or the shifted-t approximation). Unpaired:
    ``n`` replicates per condition with a common sd (df ``2n - 2``); paired: ``n``
    pairs and the sd of the paired differences (df ``n - 1``).

    Args:
        effect_size: true difference in sd units (usually 0: no real difference).
        n: replicates per condition, or pairs (at least 2).
        low: lower equivalence bound in sd units (``-margin / sd``).
        high: upper bound, above ``low``.
        alpha: level of each one-sided test, in (0, 1).
        paired: paired design.

    Returns:
        The probability of declaring equivalence, in [0, 1].

    Raises:
        ValueError: for bad arguments.

    References:
        Schuirmann, D. J. (1987). J. Pharmacokinet. Biopharm. 15, 657-680.
        Owen, D. B. (1965). A special case of a bivariate non-central
        t-distribution. Biometrika 52, 437-446.

    Examples:
        >>> round(tost_power(0.0, 20, low=-1.0, high=1.0, paired=True), 4)
        0.9922
    """
    d, a, _, is_paired = _power_iv(effect_size, alpha, "two-sided", paired)
    lo, hi = _bounds_iv(low, high)
    return _tost_power(d, _n_iv(n), lo, hi, a, is_paired)


def noninferiority_power(
    effect_size: float,
    n: int,
    *,
    margin: float,
    alpha: float = 0.05,
    paired: bool = False,
) -> float:
    """Power of a non-inferiority t-test at a true standardised difference.

    The probability that :func:`noninferiority` at ``alpha`` declares the treatment no
    worse when the true difference in the better direction is ``effect_size`` sd (0:
    no real difference; negative: truly worse) and the margin is ``margin`` sd. It is
    a one-sided t-test of the difference shifted by the margin, so its power is the
    noncentral t's at ``effect_size + margin``, as ``statsmodels``'
    ``TTestIndPower().power(effect_size + margin, n, alpha, alternative="larger")``
    (``TTestPower`` when paired).

    Args:
        effect_size: true difference in sd units, positive when the treatment is better.
        n: replicates per condition, or pairs (at least 2).
        margin: the largest tolerated loss, in sd units, positive.
        alpha: one-sided level, in (0, 1).
        paired: paired design.

    Returns:
        The probability of declaring non-inferiority, in [0, 1].

    Raises:
        ValueError: for bad arguments.

    References:
        Wellek, S. (2010). Testing Statistical Hypotheses of Equivalence and
        Noninferiority, 2nd ed., ch. 2. Chapman & Hall/CRC.

    Examples:
        >>> round(noninferiority_power(0.0, 20, margin=0.5), 3)
        0.463
    """
    d, a, _, is_paired = _power_iv(effect_size, alpha, "greater", paired)
    return _power(d + _margin_iv(margin), _n_iv(n), a, is_paired, "greater")


def _smallest_n(power_at: Callable[[int], float], power: float, what: str) -> int:
    """The smallest n >= 2 with ``power_at(n) >= power`` (power grows with n)."""
    lo, hi = 1, 2
    while power_at(hi) < power:
        lo, hi = hi, hi * 2
        if hi > MAX_REPLICATES:
            raise ValueError(f"{what} needs more than {MAX_REPLICATES} replicates")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power_at(mid) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def _target_iv(power: object, alpha: float) -> float:
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not alpha < power < 1.0:
        raise ValueError(f"`power` must be in (alpha, 1) = ({alpha}, 1), got {power!r}")
    return float(power)


def required_replicates_tost(
    effect_size: float,
    *,
    low: float,
    high: float,
    alpha: float = 0.05,
    power: float = 0.8,
    paired: bool = False,
) -> int:
    """Smallest number of replicates per condition (pairs when paired) for which
    :func:`tost_power` reaches ``power``.

    Args:
        effect_size: true difference in sd units, strictly inside ``(low, high)``.
        low: lower equivalence bound in sd units.
        high: upper bound, above ``low``.
        alpha: level of each one-sided test.
        power: target power in (alpha, 1).
        paired: paired design.

    Raises:
        ValueError: for bad arguments, a difference outside the bounds (equivalence
            cannot be shown), or a need beyond ten million replicates.

    Examples:
        >>> required_replicates_tost(0.0, low=-0.5, high=0.5, paired=True)
        36
    """
    d, a, _, is_paired = _power_iv(effect_size, alpha, "two-sided", paired)
    lo, hi = _bounds_iv(low, high)
    target = _target_iv(power, a)
    if not lo < d < hi:
        raise ValueError(f"`effect_size`={effect_size!r} lies outside the equivalence bounds ({lo:g}, {hi:g}): "
                         "equivalence cannot be shown")
    return _smallest_n(lambda n: _tost_power(d, n, lo, hi, a, is_paired), target,
                       f"equivalence within ({lo:g}, {hi:g}) at `effect_size`={effect_size!r}")


def required_replicates_noninferiority(
    effect_size: float,
    *,
    margin: float,
    alpha: float = 0.05,
    power: float = 0.8,
    paired: bool = False,
) -> int:
    """Smallest number of replicates per condition (pairs when paired) for which
    :func:`noninferiority_power` reaches ``power``: ``required_replicates(effect_size +
    margin, alternative="greater")``.

    Raises:
        ValueError: for bad arguments, a true loss at or beyond the margin
            (non-inferiority cannot be shown), or a need beyond ten million replicates.

    Examples:
        >>> required_replicates_noninferiority(0.0, margin=0.5)
        51
    """
    d, a, _, is_paired = _power_iv(effect_size, alpha, "greater", paired)
    m = _margin_iv(margin)
    if d + m <= 0:
        raise ValueError(f"`effect_size`={effect_size!r} is a loss at or beyond the margin {m:g}: "
                         "non-inferiority cannot be shown")
    return required_replicates(d + m, alpha=a, power=_target_iv(power, a), paired=is_paired, alternative="greater")
