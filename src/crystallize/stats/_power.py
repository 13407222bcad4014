"""Power of t-tests and the replicates needed to detect an effect (noncentral t)."""

from __future__ import annotations

import math

from scipy import stats

from crystallize.stats._validation import Alternative, check_alternative, check_paired

__all__ = ["required_replicates", "ttest_power"]

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
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"`n` must be an integer >= 2, got {n!r}")
    return _power(d, n, a, is_paired, alt)


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
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not a < power < 1.0:
        raise ValueError(f"`power` must be in (alpha, 1) = ({a}, 1), got {power!r}")
    if d == 0.0 or (alt == "greater" and d < 0) or (alt == "less" and d > 0):
        raise ValueError(
            f"`effect_size`={effect_size!r} cannot be detected with alternative={alt!r}"
        )
    lo, hi = 1, 2  # power(lo) < target <= power(hi) once the loop ends
    while _power(d, hi, a, is_paired, alt) < power:
        lo, hi = hi, hi * 2
        if hi > MAX_REPLICATES:
            raise ValueError(f"`effect_size`={effect_size!r} needs more than {MAX_REPLICATES} replicates")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _power(d, mid, a, is_paired, alt) >= power:
            hi = mid
        else:
            lo = mid
    return hi
