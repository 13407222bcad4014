"""Anytime-valid paired t-tests: an e-process, its p-values and its confidence sequence.

The e-process is a Bayes factor of the paired t statistic: a scale-invariant prior
on the standard deviation and a normal prior of scale ``c`` on the standardised
effect (half-normal for a one-sided test). For Gaussian differences its value at
any stopping time has expectation at most 1 under the null, so rejecting when it
first reaches ``1 / alpha`` keeps the false-positive rate below ``alpha`` however
often one looks (Ville's inequality).

With ``n >= 2`` differences, ``nu = n - 1``, ``t = sqrt(n) mean / sd`` and
``r = 1 / (1 + n c**2)``::

    ln E2 = ln(r) / 2 + (n / 2) (ln(1 + t**2 / nu) - ln(1 + r t**2 / nu))
    ln E+ = ln E2 + ln 2 + ln F_n(t sqrt(n (1 - r)) / sqrt(nu + r t**2))

where ``F_n`` is the Student t CDF with ``n`` degrees of freedom.

References:
    Lai, T. L. (1976). On confidence sequences. Ann. Statist. 4, 265-280.
    Gönen, M., Johnson, W. O., Lu, Y. and Westfall, P. H. (2005). The Bayesian
    two-sample t test. Amer. Statist. 59, 252-257.
    Pérez-Ortiz, M. F., Lardy, T., de Heide, R. and Grünwald, P. D. (2024).
    E-statistics, group invariance and anytime-valid testing. Ann. Statist. 52, 1410-1432.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from crystallize.stats._validation import FloatArray, RngLike, check_alternative, normalise_rng

if TYPE_CHECKING:
    from crystallize.stats._result import TestResult

__all__ = [
    "SequentialPlan",
    "anytime_pvalues",
    "prior_scale_for",
    "sequential_plan",
    "sequential_ttest",
    "t_confidence_sequence",
    "t_eprocess",
]

#: The default prior scale on the standardised effect: decisions expected near 30 replicates.
DEFAULT_PRIOR_SCALE = 0.5


def _differences(d: ArrayLike, name: str = "d") -> FloatArray:
    arr = np.asarray(d, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must hold finite numbers only")
    return arr


def _prior_scale(prior_scale: object) -> float:
    if isinstance(prior_scale, bool) or not isinstance(prior_scale, (int, float)) or not prior_scale > 0 \
            or not math.isfinite(prior_scale):
        raise ValueError(f"`prior_scale` must be a positive number, got {prior_scale!r}")
    return float(prior_scale)


def _alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
    return float(alpha)


def prior_scale_for(expected_replicates: float, *, alpha: float = 0.05) -> float:
    """The prior scale that aims decisions near ``expected_replicates``:
    ``sqrt((2 ln(1/alpha) + ln(1 + 2 ln(1/alpha))) / n_expected)``.

    Examples:
        >>> round(prior_scale_for(30), 4)
        0.5143
    """
    a = _alpha(alpha)
    if not expected_replicates > 0:
        raise ValueError(f"`expected_replicates` must be positive, got {expected_replicates!r}")
    k = 2 * math.log(1 / a)
    return math.sqrt((k + math.log(1 + k)) / expected_replicates)


def _running_stats(d: FloatArray) -> tuple[NDArray[np.int64], FloatArray, FloatArray]:
    """Count, mean and sample sd (ddof 1; 0 for n < 2) after each difference (Welford, stable)."""
    n = np.arange(1, d.size + 1)
    mean = np.cumsum(d) / n
    # sum of squared deviations, accumulated stably around the running mean
    shifted = d - np.concatenate(([0.0], mean[:-1]))
    m2 = np.cumsum(shifted * (d - mean))
    sd = np.sqrt(np.maximum(m2, 0.0) / np.maximum(n - 1, 1))
    sd[0] = 0.0
    return n, mean, sd


def _t_statistics(n: NDArray[np.int64], mean: FloatArray, sd: FloatArray) -> FloatArray:
    """sqrt(n) mean / sd, with the zero-variance limit +-inf (0 when the mean is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.sqrt(n) * mean / sd
    zero = sd <= 8 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1e-300)
    return np.where(zero, np.where(mean == 0.0, 0.0, np.copysign(np.inf, mean)), t)


def _log_e2(t: FloatArray, n: NDArray[np.int64], c: float) -> FloatArray:
    nu = (n - 1).astype(np.float64)
    r = 1.0 / (1.0 + n * c**2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        u = t**2 / nu
        finite = np.log1p(u) - np.log1p(r * u)
    limit = -np.log(r)  # t -> inf: ln(1 + u) - ln(1 + r u) -> -ln r
    body = np.where(np.isinf(t), limit, finite)
    return 0.5 * np.log(r) + (n / 2.0) * body


def t_eprocess(d: ArrayLike, *, alternative: str = "greater", prior_scale: float = DEFAULT_PRIOR_SCALE) -> FloatArray:
    """ln E of the sequential paired t-test after each of the differences ``d``.

    Args:
        d: paired differences, treatment minus baseline, in replicate order.
        alternative: ``"greater"`` (half-normal prior on a positive effect),
            ``"less"`` (the same on ``-d``) or ``"two-sided"``.
        prior_scale: scale ``c`` of the normal prior on the standardised effect.

    Returns:
        ``ln E`` after 1, 2, ..., ``len(d)`` differences (0.0 where fewer than 2).

    Examples:
        >>> np.round(t_eprocess([0.3, -0.1, 0.5, 0.4, 0.2]), 4).tolist()
        [0.0, 0.0959, 0.493, 0.9086, 1.2439]
    """
    x = _differences(d)
    alt = check_alternative(alternative)
    c = _prior_scale(prior_scale)
    out = np.zeros(x.size)
    if x.size < 2:
        return out
    if alt == "less":
        x = -x
    n, mean, sd = _running_stats(x)
    n, mean, sd = n[1:], mean[1:], sd[1:]
    t = _t_statistics(n, mean, sd)
    log_e = _log_e2(t, n, c)
    if alt != "two-sided":
        nu = (n - 1).astype(np.float64)
        r = 1.0 / (1.0 + n * c**2)
        with np.errstate(invalid="ignore", over="ignore"):
            arg = t * np.sqrt(n * (1 - r)) / np.sqrt(nu + r * t**2)
        arg = np.where(np.isinf(t), np.copysign(np.sqrt(n * (1 - r) / r), t), arg)
        log_e = log_e + math.log(2.0) + sps.t.logcdf(arg, n)
    out[1:] = log_e
    return out


def anytime_pvalues(log_e: ArrayLike) -> FloatArray:
    """Anytime-valid p-values ``min(1, exp(-max_{k<=n} ln E_k))``: never increasing.

    Examples:
        >>> anytime_pvalues([0.0, 1.0, 0.5, 3.0]).round(4).tolist()
        [1.0, 0.3679, 0.3679, 0.0498]
    """
    arr = np.asarray(log_e, dtype=np.float64)
    if arr.ndim != 1 or np.isnan(arr).any():
        raise ValueError("`log_e` must be a one-dimensional array without NaN")
    if arr.size == 0:
        return arr
    return np.minimum(1.0, np.exp(-np.maximum.accumulate(np.maximum(arr, 0.0))))


def t_confidence_sequence(
    d: ArrayLike, *, alpha: float = 0.05, prior_scale: float = DEFAULT_PRIOR_SCALE
) -> tuple[FloatArray, FloatArray]:
    """The ``1 - alpha`` confidence sequence for the mean difference (inverting ``E2``).

    At each look, ``q = (r alpha**2) ** (1 / n)``; when ``q > r`` the interval is
    ``mean +- (sd / sqrt(n)) sqrt(nu (1 - q) / (q - r))``, otherwise the whole line.
    The running intersection over looks is returned, so it never widens; it covers
    the true mean at every look at once with probability at least ``1 - alpha``.

    Returns:
        ``(lower, upper)`` arrays, one entry per difference (``-inf``/``inf`` where unbounded).

    Examples:
        >>> lo, hi = t_confidence_sequence([0.3, -0.1, 0.5, 0.4, 0.2, 0.35, 0.1, 0.3])
        >>> bool(np.isinf(lo[:3]).all()), round(float(lo[-1]), 4), round(float(hi[-1]), 4)
        (True, -0.2237, 0.7362)
    """
    x = _differences(d)
    a = _alpha(alpha)
    c = _prior_scale(prior_scale)
    lower = np.full(x.size, -np.inf)
    upper = np.full(x.size, np.inf)
    if x.size < 2:
        return lower, upper
    n, mean, sd = _running_stats(x)
    half = cs_half_width(sd, n, c, a)
    lower = np.where(n >= 2, mean - half, -np.inf)
    upper = np.where(n >= 2, mean + half, np.inf)
    return np.maximum.accumulate(lower), np.minimum.accumulate(upper)


def cs_half_width(sd: ArrayLike, n: ArrayLike, c: float, alpha: float) -> FloatArray:
    """Half-width of one look's confidence-sequence interval (``inf`` when unbounded)."""
    s, k = np.asarray(sd, dtype=np.float64), np.asarray(n, dtype=np.float64)
    r = 1.0 / (1.0 + k * c**2)
    q = np.exp((np.log(r) + 2 * math.log(alpha)) / k)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = s / np.sqrt(k) * np.sqrt((k - 1) * (1 - q) / (q - r))
    return np.where(q > r, np.nan_to_num(half, nan=0.0), np.inf)


@dataclass(frozen=True, slots=True)
class SequentialPlan:
    """How many replicates a paired comparison needs, fixed and sequential.

    Attributes:
        fixed_replicates: pairs a fixed-n paired t-test needs for the power.
        max_replicates: the budget at which the sequential test reaches the power.
        expected_replicates: mean stopping count under the effect (capped at the budget).
        median_replicates: median stopping count under the effect.
        power: the requested power.
    """

    fixed_replicates: int
    max_replicates: int
    expected_replicates: float
    median_replicates: float
    power: float


def _first_crossing(log_e: FloatArray, threshold: float) -> NDArray[np.int64]:
    """Per path (row), the 1-based look at which ``log_e`` first reaches ``threshold`` (0: never)."""
    hit = log_e >= threshold
    first = np.argmax(hit, axis=1) + 1
    return np.where(hit.any(axis=1), first, 0)


def _paths_log_e(x: FloatArray, c: float, alternative: str) -> FloatArray:
    """ln E after each look, for many paths at once (rows of ``x``)."""
    n = np.arange(1, x.shape[1] + 1)
    mean = np.cumsum(x, axis=1) / n
    m2 = np.cumsum(x**2, axis=1) - n * mean**2
    sd = np.sqrt(np.maximum(m2, 0.0) / np.maximum(n - 1, 1))
    out = np.zeros_like(x)
    t = _t_statistics(n[1:], mean[:, 1:], sd[:, 1:])
    out[:, 1:] = _log_e2(t, n[1:], c)
    if alternative != "two-sided":
        nn = n[1:]
        r = 1.0 / (1.0 + nn * c**2)
        with np.errstate(invalid="ignore", over="ignore"):
            arg = t * np.sqrt(nn * (1 - r)) / np.sqrt(nn - 1 + r * t**2)
        arg = np.where(np.isinf(t), np.copysign(np.sqrt(nn * (1 - r) / r), t), arg)
        out[:, 1:] += math.log(2.0) + sps.t.logcdf(arg, nn)
    return out


def sequential_plan(
    effect: float,
    sd: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    prior_scale: float = DEFAULT_PRIOR_SCALE,
    alternative: str = "greater",
    simulations: int = 2000,
    rng: RngLike = 0,
) -> SequentialPlan:
    """Replicates needed to detect ``effect`` (in metric units, paired differences of sd ``sd``).

    The fixed-n count is that of a paired t-test with the same ``alternative``
    (statsmodels' ``TTestPower().solve_power``, rounded up). The sequential
    figures come from simulating the e-process on Gaussian differences, which is
    pivotal in ``effect / sd``: the budget is the smallest number of replicates by
    which a fraction ``power`` of the simulated experiments has stopped with
    "accepted".

    Args:
        effect: the difference of interest (positive for ``"greater"``).
        sd: the standard deviation of the paired differences.
        alpha: the level.
        power: the wanted power.
        prior_scale: the e-process's prior scale.
        alternative: ``"greater"``, ``"less"`` or ``"two-sided"``.
        simulations: simulated experiments.
        rng: seed or generator of the simulation.

    Returns:
        A :class:`SequentialPlan`.

    Examples:
        >>> plan = sequential_plan(0.5, 1.0)
        >>> plan.fixed_replicates, plan.max_replicates > plan.fixed_replicates
        (27, True)
    """
    from crystallize.stats._power import required_replicates  # noqa: PLC0415

    a = _alpha(alpha)
    alt = check_alternative(alternative)
    c = _prior_scale(prior_scale)
    if not sd > 0 or not math.isfinite(sd):
        raise ValueError(f"`sd` must be a positive number, got {sd!r}")
    if not 0 < power < 1:
        raise ValueError(f"`power` must be in (0, 1), got {power!r}")
    d = float(effect) / float(sd)
    fixed = required_replicates(d, alpha=a, power=power, paired=True, alternative=alt)  # type: ignore[arg-type]
    generator = normalise_rng(rng)
    signed = -d if alt == "less" else d
    horizon = max(4 * fixed, 50)
    while True:
        x = generator.normal(signed, 1.0, size=(simulations, horizon))
        stops = _first_crossing(_paths_log_e(x, c, "greater" if alt == "less" else alt), math.log(1 / a))
        stops = np.where(stops == 0, horizon + 1, stops)
        budget = int(np.quantile(stops, power, method="higher"))
        if budget <= horizon or horizon >= 1_000_000:
            break
        horizon *= 4
    capped = np.minimum(stops, budget)
    return SequentialPlan(fixed, budget, float(capped.mean()), float(np.median(capped)), float(power))


def sequential_ttest(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
    prior_scale: float = DEFAULT_PRIOR_SCALE,
) -> TestResult:
    """The sequential paired t-test on replicate-aligned samples, as one answer.

    The p-value is the anytime-valid one after the last replicate (valid however
    often the data were looked at before), ``statistic`` the final ``ln E``, ``ci``
    the running confidence sequence for the mean difference at its last look
    (``None`` while unbounded), ``estimate`` the mean difference and the effect
    size Cohen's d_z.

    Args:
        baseline: baseline samples, replicate order (at least 2 pairs).
        treatment: treatment samples, same replicates and order.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        confidence_level: level of the confidence sequence.
        prior_scale: the e-process's prior scale on the standardised effect.

    Returns:
        A :class:`TestResult` with ``n_pairs`` set.

    Examples:
        >>> r = sequential_ttest([0.0] * 10, [0.3, 0.1, 0.5, 0.4, 0.2, 0.35, 0.25, 0.3, 0.45, 0.2])
        >>> round(r.p_value, 4), round(r.statistic, 3)
        (0.0144, 4.244)
    """
    from crystallize.stats._effect_size import cohens_dz  # noqa: PLC0415
    from crystallize.stats._result import ConfidenceInterval, two_sample_result  # noqa: PLC0415
    from crystallize.stats._validation import check_confidence_level, check_two_samples  # noqa: PLC0415

    b, t = check_two_samples(baseline, treatment, paired=True)
    level = check_confidence_level(confidence_level)
    d = t - b
    log_e = t_eprocess(d, alternative=alternative, prior_scale=prior_scale)
    p = float(anytime_pvalues(log_e)[-1])
    low, high = t_confidence_sequence(d, alpha=1 - level, prior_scale=prior_scale)
    ci = ConfidenceInterval(float(low[-1]), float(high[-1]), level) if np.isfinite([low[-1], high[-1]]).all() \
        else None
    notes = [f"anytime-valid: e-value {math.exp(min(float(log_e[-1]), 700.0)):.3g} after {d.size} replicates "
             f"(prior scale {prior_scale:g})"]
    if ci is None:
        notes.append(f"the {level:.4g} confidence sequence is still unbounded after {d.size} replicates")
    return two_sample_result("sequential_t", float(log_e[-1]), p, alternative, b, t, paired=True,
                             effect_size=cohens_dz(b, t), effect_size_name="cohens_dz", ci=ci, notes=notes,
                             estimate=float(np.mean(d)))
