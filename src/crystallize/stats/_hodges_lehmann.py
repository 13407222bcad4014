"""Hodges-Lehmann location shifts and their distribution-free intervals.

The rank tests report these as their confidence interval: for Mann-Whitney the
shift between treatment and baseline (median of all differences ``t_i - b_j``,
Moses interval), for Wilcoxon signed-rank the pseudo-median of the paired
differences (median of the Walsh averages). Critical ranks come from the exact
null distribution of the rank statistic wherever SciPy's p-value is exact for
untied data (at most 50 pairs for the signed-rank test; a smaller sample of at
most 8 for the rank-sum test), and from its normal approximation otherwise.
Exact intervals cover at least their nominal level; when none does (a 95%
interval needs 6 pairs), no interval is returned. Order statistics come from
the full set of pairs when it is small and from a memory-free bisection
otherwise.

References:
    Hollander, M., Wolfe, D. A. and Chicken, E. (2014). Nonparametric Statistical
    Methods, 3rd ed., sections 3.2 and 4.3. Wiley.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from crystallize.stats._rank_null import (
    EXACT_RANK_SUM_LIMIT,
    EXACT_SIGNED_RANK_LIMIT,
    critical_count,
    rank_sum_counts,
    signed_rank_counts,
)
from crystallize.stats._result import ConfidenceInterval
from crystallize.stats._validation import FloatArray

__all__ = ["attainable_coverage", "paired_shift_interval", "shift_interval"]

#: Above this many pairs, order statistics are found by bisection instead.
MATERIALISE_LIMIT = 2_000_000


def _normal_rank(n_pairs: int, variance: float, level: float) -> int:
    """1-based rank C of the lower bound by the normal approximation, clipped to [1, n_pairs]."""
    z = float(special.ndtri(0.5 + level / 2))
    c = math.floor(n_pairs / 2 - z * math.sqrt(variance))
    return min(max(c, 1), n_pairs)


def _kth_by_bisection(count_le: Callable[[float], int], k: int, lo: float, hi: float) -> float:
    """Smallest ``x`` in [lo, hi] with ``count_le(x) >= k`` (1-based ``k``)."""
    for _ in range(200):
        mid = lo + (hi - lo) / 2
        if mid <= lo or mid >= hi:
            break
        if count_le(mid) >= k:
            hi = mid
        else:
            lo = mid
    return hi if count_le(lo) < k else lo


def _order_stats(
    values: Callable[[], FloatArray],
    count_le: Callable[[float], int],
    n_pairs: int,
    ranks: list[int],
    lo: float,
    hi: float,
) -> list[float]:
    if n_pairs <= MATERIALISE_LIMIT:
        v = values()
        idx = [r - 1 for r in ranks]
        part = np.partition(v, sorted(set(idx)))
        return [float(part[i]) for i in idx]
    return [_kth_by_bisection(count_le, r, lo, hi) for r in ranks]


def _summarise(
    stats_at: Callable[[list[int]], list[float]], n_pairs: int, c: int, level: float
) -> tuple[float, ConfidenceInterval | None]:
    mid_lo, mid_hi = (n_pairs + 1) // 2, n_pairs // 2 + 1
    if c == 0:  # no interval reaches the level
        m1, m2 = stats_at([mid_lo, mid_hi])
        return (m1 + m2) / 2, None
    low, high, m1, m2 = stats_at([c, n_pairs + 1 - c, mid_lo, mid_hi])
    return (m1 + m2) / 2, ConfidenceInterval(low, high, level)


def shift_interval(b: FloatArray, t: FloatArray, level: float) -> tuple[float, ConfidenceInterval | None]:
    """Hodges-Lehmann shift (treatment minus baseline) and its Moses interval
    (``None`` when no interval reaches ``level``)."""
    nb, nt = b.size, t.size
    n_pairs = nb * nt
    bs = np.sort(b)

    def values() -> FloatArray:
        return np.subtract.outer(t, b).ravel()

    def count_le(x: float) -> int:
        return int(n_pairs - np.searchsorted(bs, t - x, side="left").sum())

    if min(nb, nt) <= EXACT_RANK_SUM_LIMIT:
        c, _ = critical_count(rank_sum_counts(nb, nt), level)
    else:
        c = _normal_rank(n_pairs, nb * nt * (nb + nt + 1) / 12, level)
    lo, hi = float(t.min() - bs[-1]), float(t.max() - bs[0])
    return _summarise(lambda r: _order_stats(values, count_le, n_pairs, r, lo, hi), n_pairs, c, level)


def paired_shift_interval(b: FloatArray, t: FloatArray, level: float) -> tuple[float, ConfidenceInterval | None]:
    """Pseudo-median of ``t - b`` (median of Walsh averages) and its interval
    (``None`` when no interval reaches ``level``)."""
    d = np.sort(t - b)
    n = d.size
    n_pairs = n * (n + 1) // 2
    starts = np.arange(n)

    def values() -> FloatArray:
        i, j = np.triu_indices(n)
        return (d[i] + d[j]) / 2

    def count_le(x: float) -> int:
        ends = np.searchsorted(d, 2 * x - d, side="right")
        return int(np.clip(ends - starts, 0, None).sum())

    if n <= EXACT_SIGNED_RANK_LIMIT:
        c, _ = critical_count(signed_rank_counts(n), level)
    else:
        c = _normal_rank(n_pairs, n * (n + 1) * (2 * n + 1) / 24, level)
    return _summarise(
        lambda r: _order_stats(values, count_le, n_pairs, r, float(d[0]), float(d[-1])), n_pairs, c, level
    )


def attainable_coverage(n_baseline: int, n_treatment: int, *, paired: bool) -> float | None:
    """Coverage of the widest exact rank interval (``None`` when the normal approximation is used)."""
    if paired:
        if n_baseline > EXACT_SIGNED_RANK_LIMIT:
            return None
        return critical_count(signed_rank_counts(n_baseline), 1.0)[1]
    if min(n_baseline, n_treatment) > EXACT_RANK_SUM_LIMIT:
        return None
    return critical_count(rank_sum_counts(n_baseline, n_treatment), 1.0)[1]
