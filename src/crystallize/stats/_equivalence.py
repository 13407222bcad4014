"""Equivalence (TOST) and non-inferiority t-tests of treatment minus baseline."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from crystallize.stats._result import TestResult
from crystallize.stats._ttests import difference_se_df, mean_difference_result, shifted_t
from crystallize.stats._validation import (
    FloatArray,
    check_confidence_level,
    check_paired,
    check_two_samples,
    degenerate,
    is_constant,
)

__all__ = ["noninferiority", "tost"]


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number, got {value!r}")
    return float(value)


def _prepare(
    baseline: ArrayLike, treatment: ArrayLike, paired: object, notes: list[str]
) -> tuple[FloatArray, FloatArray, bool, float, float, float]:
    is_paired = check_paired(paired)
    b, t = check_two_samples(baseline, treatment, paired=is_paired)
    diff, se, df = difference_se_df(b, t, "paired" if is_paired else "welch")
    if is_constant(t - b) if is_paired else is_constant(b) and is_constant(t):
        degenerate("zero variance: the one-sided p-values are 0 or 1", notes)
        se = 0.0
    return b, t, is_paired, diff, se, df


def tost(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    low: float,
    high: float,
    paired: bool = False,
    confidence_level: float = 0.90,
) -> TestResult:
    """Equivalence test: is the mean difference inside ``(low, high)``?

    Two one-sided t-tests (Welch unpaired, paired t when ``paired``) reject
    ``diff <= low`` and ``diff >= high``; the p-value is the larger of the two,
    as ``statsmodels.stats.weightstats.ttost_ind(treatment, baseline, low, high,
    usevar="unequal")`` or ``ttost_paired``. A significant result means
    equivalence. ``statistic`` is the t of the larger p-value; ``ci`` is the
    two-sided interval at ``confidence_level`` (TOST at ``alpha`` matches the
    ``1 - 2 alpha`` interval lying inside the bounds, hence the 0.90 default).

    Args:
        baseline: baseline samples (at least 2, finite).
        treatment: treatment samples (at least 2, finite; same length when paired).
        low: lower equivalence bound of the difference (treatment minus baseline).
        high: upper equivalence bound, greater than ``low``.
        paired: use paired differences.
        confidence_level: level of ``ci`` in (0, 1).

    Returns:
        A :class:`TestResult` with ``alternative == "equivalence"``.

    Raises:
        ValueError: for bad bounds, too few samples, non-finite values or bad options.

    References:
        Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure
        and the power approach for assessing the equivalence of average
        bioavailability. J. Pharmacokinet. Biopharm. 15, 657-680.

    Examples:
        >>> r = tost([10.0, 10.2, 9.9, 10.1], [10.1, 10.0, 10.2, 9.95], low=-0.5, high=0.5)
        >>> r.significant(0.05), round(r.p_value, 5)
        (True, 0.00066)
    """
    lo, hi = _finite(low, "low"), _finite(high, "high")
    if not lo < hi:
        raise ValueError(f"`low` must be below `high`, got low={low!r}, high={high!r}")
    level = check_confidence_level(confidence_level)
    notes: list[str] = []
    b, t, paired_, diff, se, df = _prepare(baseline, treatment, paired, notes)
    t_low, p_low = shifted_t(diff - lo, se, df, "greater")
    t_high, p_high = shifted_t(diff - hi, se, df, "less")
    notes.append(f"bounds ({lo:g}, {hi:g}): p_lower={p_low:.3g}, p_upper={p_high:.3g}")
    stat, p = (t_low, p_low) if p_low >= p_high else (t_high, p_high)
    p = min(max(p, 0.0), 1.0)
    return mean_difference_result("tost", stat, p, "equivalence", b, t, paired_, (diff, se, df), level, notes)


def noninferiority(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    margin: float,
    higher_is_better: bool = True,
    paired: bool = False,
    confidence_level: float = 0.95,
) -> TestResult:
    """Non-inferiority test: is the treatment no worse than baseline by ``margin``?

    A one-sided t-test (Welch unpaired, paired t when ``paired``) of the shifted
    difference. With ``higher_is_better`` it rejects ``diff <= -margin``
    (alternative ``"greater"``), as ``scipy.stats.ttest_ind(treatment + margin,
    baseline, equal_var=False, alternative="greater")``; otherwise it rejects
    ``diff >= margin`` (alternative ``"less"``). A significant result means
    non-inferiority. ``ci`` is the two-sided interval of the mean difference.

    Args:
        baseline: baseline samples (at least 2, finite).
        treatment: treatment samples (at least 2, finite; same length when paired).
        margin: largest tolerated loss, positive, in the metric's units.
        higher_is_better: whether larger metric values are better.
        paired: use paired differences.
        confidence_level: level of ``ci`` in (0, 1).

    Returns:
        A :class:`TestResult`.

    Raises:
        ValueError: for a non-positive margin, too few samples, non-finite values or bad options.

    References:
        Wellek, S. (2010). Testing Statistical Hypotheses of Equivalence and
        Noninferiority, 2nd ed., ch. 2. Chapman & Hall/CRC.

    Examples:
        >>> r = noninferiority([0.90, 0.91, 0.92, 0.90], [0.89, 0.90, 0.91, 0.90], margin=0.05)
        >>> r.alternative, r.significant(0.05)
        ('greater', True)
    """
    m = _finite(margin, "margin")
    if m <= 0:
        raise ValueError(f"`margin` must be positive, got {margin!r}")
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise ValueError(f"`higher_is_better` must be True or False, got {higher_is_better!r}")
    level = check_confidence_level(confidence_level)
    notes: list[str] = []
    b, t, paired_, diff, se, df = _prepare(baseline, treatment, paired, notes)
    if higher_is_better:
        stat, p = shifted_t(diff + m, se, df, "greater")
        alternative = "greater"
    else:
        stat, p = shifted_t(diff - m, se, df, "less")
        alternative = "less"
    notes.append(f"margin {m:g} ({'higher' if higher_is_better else 'lower'} is better)")
    p = min(max(p, 0.0), 1.0)
    return mean_difference_result(
        "noninferiority", stat, p, alternative, b, t, paired_, (diff, se, df), level, notes
    )
