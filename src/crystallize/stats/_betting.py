"""Anytime-valid tests of bounded paired differences by betting, free of distribution assumptions.

A gambler bets a fraction of their wealth on each new replicate that the mean of
``X_i`` exceeds ``1/2``; under the null (mean at most 1/2) the wealth is a
nonnegative supermartingale, so by Ville's inequality it reaches ``1 / alpha``
with probability at most ``alpha``, whenever one looks. Its logarithm is an
e-process like :func:`~crystallize.stats.t_eprocess`'s.

* ``mode="bounded"``: ``X_i = (D_i + 1) / 2`` for differences ``D_i`` in
  ``[-1, 1]`` (metrics in ``[0, 1]``, such as accuracy or per-replicate success):
  tests whether the mean difference is above 0, exactly, for any distribution.
* ``mode="win_rate"``: ``X_i = (sign(D_i) + 1) / 2``: tests whether the treatment
  wins more replicates than it loses, for differences of any size (a metric with
  catastrophic seeds). Ties count for neither side.

Bets are "predictable plug-in" ones: ``lambda_t = min(sqrt(2 ln(1/a) /
(sigma2_{t-1} t ln(1 + t))), 1)`` from the running variance estimate of the
replicates before ``t`` (``a = alpha / 2`` for the two-sided test, which averages
the wealth of a bet on each side).

References:
    Waudby-Smith, I. and Ramdas, A. (2024). Estimating means of bounded random
    variables by betting. J. R. Statist. Soc. B 86, 1-27.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from crystallize.stats._result import TestResult, two_sample_result
from crystallize.stats._validation import FloatArray, check_alternative, check_two_samples

__all__ = ["BETTING_MODES", "betting_eprocess", "betting_test"]

#: Allowed values of ``mode``.
BETTING_MODES: tuple[str, ...] = ("bounded", "win_rate")
#: The largest bet, as a multiple of ``X - 1/2`` (keeps every factor in [0.5, 1.5]).
_MAX_BET = 1.0


def _outcomes(d: ArrayLike, mode: str) -> FloatArray:
    x = np.asarray(d, dtype=np.float64)
    if x.ndim != 1 or not np.isfinite(x).all():
        raise ValueError("`d` must be a one-dimensional array of finite numbers")
    if mode == "win_rate":
        return (np.sign(x) + 1.0) / 2.0
    if mode != "bounded":
        raise ValueError(f"`mode` must be one of {BETTING_MODES}, got {mode!r}")
    if (np.abs(x) > 1.0).any():
        worst = float(x[np.argmax(np.abs(x))])
        raise ValueError(f"mode='bounded' needs differences in [-1, 1] (metrics in [0, 1]), got {worst!r}; "
                         "use mode='win_rate' for unbounded metrics")
    return (x + 1.0) / 2.0


def _log_wealth(x: FloatArray, sign: float, level: float) -> FloatArray:
    """ln of the wealth after each replicate of bets that the mean of ``x`` exceeds 1/2 (``sign`` +1)
    or falls short of it (-1)."""
    t = np.arange(1, x.size + 1, dtype=np.float64)
    mean = (0.5 + np.cumsum(x)) / (t + 1)
    variance = (0.25 + np.cumsum((x - mean) ** 2)) / (t + 1)
    before = np.concatenate(([0.25], variance[:-1]))  # predictable: known before replicate t
    bets = np.minimum(np.sqrt(2 * math.log(1 / level) / (before * t * np.log1p(t))), _MAX_BET)
    return np.cumsum(np.log1p(sign * bets * (x - 0.5)))


def betting_eprocess(
    d: ArrayLike, *, mode: str = "bounded", alternative: str = "greater", alpha: float = 0.05
) -> FloatArray:
    """ln E of a betting test that the paired differences ``d`` lean positive, after each replicate.

    Args:
        d: paired differences, treatment minus baseline, in replicate order.
        mode: ``"bounded"`` (differences in [-1, 1]; tests the mean) or
            ``"win_rate"`` (tests wins against losses).
        alternative: ``"greater"``, ``"less"`` or ``"two-sided"``.
        alpha: the level the bets are tuned for (validity holds at every level).

    Returns:
        ``ln E`` after each replicate; reject at the first look where it reaches ``ln(1 / alpha)``.

    Raises:
        ValueError: for differences outside [-1, 1] in bounded mode, or bad options.

    Examples:
        >>> np.round(betting_eprocess([0.4, 0.2, 0.6, 0.1, 0.5, 0.3]), 3).tolist()
        [0.182, 0.278, 0.54, 0.589, 0.812, 0.952]
        >>> np.round(betting_eprocess([3.0, 0.5, -1.0, 2.0, 7.0, 0.1], mode="win_rate"), 3).tolist()
        [0.405, 0.811, 0.118, 0.523, 0.929, 1.334]
    """
    alt = check_alternative(alternative)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
    x = _outcomes(d, mode)
    if x.size == 0:
        return x
    if alt == "two-sided":
        up, down = _log_wealth(x, 1.0, alpha / 2), _log_wealth(x, -1.0, alpha / 2)
        return np.logaddexp(up, down) - math.log(2.0)
    return _log_wealth(x, 1.0 if alt == "greater" else -1.0, alpha)


def betting_test(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    mode: str = "bounded",
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
) -> TestResult:
    """The betting test on replicate-aligned samples, as one answer.

    The p-value is the anytime-valid one after the last replicate
    (``min(1, 1 / max wealth)``), ``statistic`` the final ``ln E``. In bounded mode
    the estimate is the mean difference and the effect size Cohen's d_z; in
    win-rate mode the estimate is the share of replicates won minus the share lost,
    which is also the effect size. There is no interval (``ci`` is ``None``).

    Args:
        baseline: baseline samples, replicate order (at least 2 pairs).
        treatment: treatment samples, same replicates and order.
        mode: ``"bounded"`` or ``"win_rate"``.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        confidence_level: unused (the test gives no interval); accepted for a uniform call.

    Returns:
        A :class:`TestResult` with ``n_pairs`` set.

    Examples:
        >>> r = betting_test([0.5] * 6, [0.9, 0.7, 1.0, 0.6, 1.0, 0.8])
        >>> round(r.p_value, 3), r.estimand
        (0.71, 'mean_difference')
    """
    from crystallize.stats._effect_size import cohens_dz  # noqa: PLC0415
    from crystallize.stats._sequential import anytime_pvalues  # noqa: PLC0415

    del confidence_level
    b, t = check_two_samples(baseline, treatment, paired=True)
    d = t - b
    log_e = betting_eprocess(d, mode=mode, alternative=alternative)
    p = float(anytime_pvalues(log_e)[-1])
    if mode == "win_rate":
        margin = float(np.mean(np.sign(d)))
        effect, name, estimate, estimand = margin, "win_margin", margin, "win_margin"
    else:
        effect, name, estimate, estimand = cohens_dz(b, t), "cohens_dz", float(np.mean(d)), "mean_difference"
    notes = [f"anytime-valid betting test ({mode.replace('_', ' ')}): e-value "
             f"{math.exp(min(float(log_e[-1]), 700.0)):.3g} after {d.size} replicates; no interval"]
    return two_sample_result("betting", float(log_e[-1]), p, alternative, b, t, paired=True, effect_size=effect,
                             effect_size_name=name, ci=None, notes=notes, estimate=estimate, estimand=estimand)
