"""Rank tests: Mann-Whitney U and Wilcoxon signed-rank, with rank-biserial effects."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from crystallize.stats._effect_size import rank_biserial_independent, rank_biserial_paired
from crystallize.stats._hodges_lehmann import attainable_coverage, paired_shift_interval, shift_interval
from crystallize.stats._result import TestResult, two_sample_result
from crystallize.stats._scaling import scale_free
from crystallize.stats._validation import (
    Alternative,
    check_test_args,
    degenerate,
    is_constant,
)

__all__ = ["mann_whitney_u", "wilcoxon_signed_rank"]


def _quiet_p(compute: Callable[[], float], noisy: bool) -> float:
    """Call ``compute()``; silence SciPy's own warnings when we already warned."""
    with warnings.catch_warnings():
        if noisy:
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
        p = float(compute())
    return 1.0 if math.isnan(p) else p


@scale_free()
def mann_whitney_u(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> TestResult:
    """Mann-Whitney U test (Wilcoxon rank-sum) of treatment against baseline.

    The p-value equals ``scipy.stats.mannwhitneyu(treatment, baseline,
    alternative=alternative)`` (SciPy's defaults: continuity correction, exact
    distribution for small samples without ties, tie-corrected normal
    approximation otherwise). ``statistic`` is U of the treatment sample;
    ``effect_size`` is the rank-biserial correlation; ``ci`` is the two-sided
    Hodges-Lehmann (Moses) interval of the location shift (``estimate``), not of the mean
    difference: exact when the smaller sample has at most 8 values, ``None``
    when no interval reaches ``confidence_level``.

    Args:
        baseline: baseline samples (at least 2, finite).
        treatment: treatment samples (at least 2, finite).
        alternative: ``"two-sided"``, ``"greater"`` (treatment ranks higher) or ``"less"``.
        confidence_level: level of ``ci`` in (0, 1).

    Returns:
        A :class:`TestResult`.

    Raises:
        ValueError: for fewer than 2 samples on a side, non-finite values or bad options.

    References:
        Mann, H. B. and Whitney, D. R. (1947). On a test of whether one of two random
        variables is stochastically larger than the other. Ann. Math. Stat. 18, 50-60.

    Examples:
        >>> r = mann_whitney_u([1.0, 2.0, 3.0, 4.0], [3.5, 5.0, 6.0, 7.0])
        >>> r.statistic, round(r.p_value, 4), r.effect_size
        (15.0, 0.0571, 0.875)
    """
    b, t, alternative, level = check_test_args(baseline, treatment, alternative, confidence_level)
    notes: list[str] = []
    constant = is_constant(b) and is_constant(t)
    if constant:
        degenerate("both samples are constant (all values tied within each sample)", notes)
    res = stats.mannwhitneyu(t, b, alternative=alternative)
    p = _quiet_p(lambda: float(res.pvalue), constant)
    shift, ci = shift_interval(b, t, level)
    _no_interval(ci, level, b.size, t.size, False, notes)
    effect = rank_biserial_independent(b, t)
    return two_sample_result(
        "mann_whitney_u", float(res.statistic), p, alternative, b, t,
        paired=False, effect_size=effect, effect_size_name="rank_biserial", ci=ci, notes=notes,
        estimate=shift, estimand="hodges_lehmann_shift",
    )


@scale_free()
def wilcoxon_signed_rank(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> TestResult:
    """Wilcoxon signed-rank test on the paired differences ``treatment - baseline``.

    The p-value equals ``scipy.stats.wilcoxon(treatment, baseline,
    alternative=alternative)`` (SciPy's defaults: zero differences dropped, no
    continuity correction, exact distribution when possible). ``statistic`` is
    R+, the sum of the ranks of the positive differences, for every
    ``alternative`` (SciPy reports min(R+, R-) for two-sided). ``effect_size`` is
    the matched-pairs rank-biserial correlation; ``ci`` is the two-sided
    interval of the Hodges-Lehmann pseudo-median of the differences (``estimate``):
    exact for at most 50 pairs, ``None`` when no interval reaches
    ``confidence_level`` (a 95% interval needs at least 6 pairs). All-zero
    differences give ``p_value == 1`` and a
    :class:`~crystallize.stats.warnings.DegenerateDataWarning`.

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
        Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics
        Bulletin 1(6), 80-83.

    Examples:
        >>> r = wilcoxon_signed_rank([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 3.5, 5.0, 8.0])
        >>> r.statistic, r.p_value, r.effect_size
        (15.0, 0.0625, 1.0)
    """
    b, t, alternative, level = check_test_args(
        baseline, treatment, alternative, confidence_level, paired=True
    )
    d = t - b
    notes: list[str] = []
    constant = is_constant(d)
    if constant:
        what = "all paired differences are zero" if d[0] == 0.0 else "all paired differences are equal"
        degenerate(what, notes)
    nonzero = d[d != 0.0]
    if nonzero.size == 0:
        p, r_plus = 1.0, 0.0
    else:
        p = _quiet_p(lambda: float(stats.wilcoxon(t, b, alternative=alternative).pvalue), constant)
        r_plus = float(stats.rankdata(np.abs(nonzero))[nonzero > 0].sum())
    pseudo_median, ci = paired_shift_interval(b, t, level)
    _no_interval(ci, level, b.size, t.size, True, notes)
    effect = rank_biserial_paired(b, t)
    return two_sample_result(
        "wilcoxon_signed_rank", r_plus, p, alternative, b, t,
        paired=True, effect_size=effect, effect_size_name="rank_biserial", ci=ci, notes=notes,
        estimate=pseudo_median, estimand="pseudo_median",
    )


def _no_interval(ci: object, level: float, nb: int, nt: int, paired: bool, notes: list[str]) -> None:
    """Say why a rank test has no interval: too few samples for an exact one at ``level``."""
    if ci is not None:
        return
    widest = attainable_coverage(nb, nt, paired=paired)
    sizes = f"{nb} pairs" if paired else f"{nb} baseline and {nt} treatment samples"
    notes.append(f"no distribution-free {level:.4g} interval exists with {sizes}: the widest one, "
                 f"from the smallest to the largest {'Walsh average' if paired else 'pairwise difference'}, "
                 f"covers {widest:.4g}; no interval is reported")
