"""Equivalence (TOST) and non-inferiority t-tests of treatment minus baseline."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from crystallize.stats._result import TestResult
from crystallize.stats._scaling import scale_free
from crystallize.stats._ttests import (
    difference_se_df,
    mean_difference_result,
    shifted_t,
    zero_variance_arrangements,
)
from crystallize.stats._validation import (
    Alternative,
    check_confidence_level,
    check_paired,
    check_two_samples,
    degenerate,
    exact_extreme_p,
)

__all__ = ["noninferiority", "tost"]


def finite_number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number, got {value!r}")
    return float(value)


class _Shifted:
    """One-sided t-tests of the difference against shifted bounds; zero-variance
    data are decided by the exact permutation p-value instead of p = 0."""

    def __init__(self, baseline: ArrayLike, treatment: ArrayLike, paired: object) -> None:
        self.paired = check_paired(paired)
        self.b, self.t = check_two_samples(baseline, treatment, paired=self.paired)
        self.diff, self.se, self.df = difference_se_df(self.b, self.t, "paired" if self.paired else "welch")
        self.arrangements = zero_variance_arrangements(self.b, self.t, self.paired)
        if self.arrangements:
            self.se = 0.0

    def test(self, bound: float, alternative: Alternative) -> tuple[float, float]:
        """t statistic and p-value of ``diff - bound`` (``"greater"``: the difference exceeds the bound)."""
        stat, p = shifted_t(self.diff - bound, self.se, self.df, alternative)
        if self.arrangements:
            p = exact_extreme_p(self.diff - bound, alternative, self.arrangements)
        return stat, min(max(p, 0.0), 1.0)

    def note_degenerate(self, notes: list[str]) -> None:
        if self.arrangements:
            what = "all paired differences are equal" if self.paired else "both samples are constant"
            degenerate(f"{what} (zero variance): each one-sided p-value is the exact permutation one "
                       f"(the observed arrangement is the most extreme of {self.arrangements})", notes)


@scale_free(margins=("low", "high"))
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
    lo, hi = finite_number(low, "low"), finite_number(high, "high")
    if not lo < hi:
        raise ValueError(f"`low` must be below `high`, got low={low!r}, high={high!r}")
    level = check_confidence_level(confidence_level)
    notes: list[str] = []
    shifted = _Shifted(baseline, treatment, paired)
    shifted.note_degenerate(notes)
    t_low, p_low = shifted.test(lo, "greater")
    t_high, p_high = shifted.test(hi, "less")
    notes.append(f"bounds ({lo:g}, {hi:g}): p_lower={p_low:.3g}, p_upper={p_high:.3g}")
    stat, p = (t_low, p_low) if p_low >= p_high else (t_high, p_high)
    s = shifted
    return mean_difference_result("tost", stat, p, "equivalence", s.b, s.t, s.paired, (s.diff, s.se, s.df), level,
                                  notes)


@scale_free(margins=("margin",))
def noninferiority(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    margin: float,
    higher_is_better: bool = True,
    paired: bool = False,
    confidence_level: float = 0.90,
) -> TestResult:
    """Non-inferiority test: is the treatment no worse than baseline by ``margin``?

    A one-sided t-test (Welch unpaired, paired t when ``paired``) of the shifted
    difference. With ``higher_is_better`` it rejects ``diff <= -margin``
    (alternative ``"greater"``), as ``scipy.stats.ttest_ind(treatment + margin,
    baseline, equal_var=False, alternative="greater")``; otherwise it rejects
    ``diff >= margin`` (alternative ``"less"``). A significant result means
    non-inferiority. ``ci`` is the two-sided interval of the mean difference at
    ``confidence_level``: at ``1 - 2 alpha`` its lower (upper) end is the
    one-sided ``1 - alpha`` bound the decision at ``alpha`` uses. Zero-variance
    data get the exact permutation p-value, as in :func:`paired_ttest`.

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
    m = finite_number(margin, "margin")
    if m <= 0:
        raise ValueError(f"`margin` must be positive, got {margin!r}")
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise ValueError(f"`higher_is_better` must be True or False, got {higher_is_better!r}")
    level = check_confidence_level(confidence_level)
    notes: list[str] = []
    s = _Shifted(baseline, treatment, paired)
    s.note_degenerate(notes)
    alternative: Alternative = "greater" if higher_is_better else "less"
    stat, p = s.test(-m if higher_is_better else m, alternative)
    notes.append(f"margin {m:g} ({'higher' if higher_is_better else 'lower'} is better)")
    return mean_difference_result(
        "noninferiority", stat, p, alternative, s.b, s.t, s.paired, (s.diff, s.se, s.df), level, notes
    )
