"""Exact null distributions of the rank statistics, for distribution-free intervals.

Both are counts of arrangements, computed exactly with integer arithmetic:

* the Wilcoxon signed-rank statistic ``T+`` of ``n`` untied, nonzero
  differences: the coefficients of ``prod_{k=1..n} (1 + q**k)``;
* the Mann-Whitney ``U`` of samples of sizes ``m`` and ``n`` without ties: the
  coefficients of the Gaussian binomial ``[m + n choose m]_q``.

References:
    Hollander, M., Wolfe, D. A. and Chicken, E. (2014). Nonparametric Statistical
    Methods, 3rd ed., sections 3.1 and 4.1. Wiley.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray

__all__ = ["EXACT_RANK_SUM_LIMIT", "EXACT_SIGNED_RANK_LIMIT", "critical_count", "rank_sum_counts",
           "signed_rank_counts"]

#: Largest number of pairs for which the signed-rank interval uses the exact
#: distribution (SciPy's exact p-value uses the same limit).
EXACT_SIGNED_RANK_LIMIT = 50
#: The rank-sum interval is exact when the smaller sample has at most this many
#: values (SciPy's exact p-value uses the same rule).
EXACT_RANK_SUM_LIMIT = 8


@functools.lru_cache(maxsize=64)
def signed_rank_counts(n: int) -> NDArray[np.int64]:
    """``counts[k]``: sign patterns of ``n`` ranks whose positive ranks sum to ``k``.

    Examples:
        >>> signed_rank_counts(3).tolist()
        [1, 1, 1, 2, 1, 1, 1]
    """
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=np.int64)
    counts[0] = 1
    top = 0
    for k in range(1, n + 1):
        counts[k : top + k + 1] += counts[: top + 1].copy()
        top += k
    return counts


@functools.lru_cache(maxsize=64)
def rank_sum_counts(m: int, n: int) -> NDArray[np.object_]:
    """``counts[u]``: splits of ``m + n`` untied values with Mann-Whitney ``U == u``.

    Exact Python integers (the counts outgrow 64 bits for unequal sizes).

    Examples:
        >>> rank_sum_counts(2, 2).tolist()
        [1, 1, 2, 1, 1]
    """
    m, n = min(m, n), max(m, n)
    counts = np.zeros(m * n + 1, dtype=object)
    counts[0] = 1
    for i in range(1, m + 1):  # multiply by (1 - q**(n + i)), then divide by (1 - q**i)
        counts[n + i :] = counts[n + i :] - counts[: m * n + 1 - n - i]
        for start in range(i):
            counts[start::i] = np.cumsum(counts[start::i])
    return counts


def critical_count(counts: NDArray[np.generic], level: float) -> tuple[int, float]:
    """The order statistic ``C`` (1-based) bounding a two-sided interval at ``level``.

    ``C`` is the largest count with ``P(S <= C - 1) <= (1 - level) / 2``; the
    interval ``[x_(C), x_(N + 1 - C)]`` then covers at least ``level``.

    Returns:
        ``(C, coverage)``; ``C == 0`` when no interval reaches ``level``
        (too few observations), with the coverage of the widest interval.
    """
    total = int(sum(int(c) for c in counts)) if counts.dtype == object else int(counts.sum())
    cumulative = np.cumsum(counts)
    tail = (1.0 - level) / 2.0
    c = 0
    bound = tail * total * (1 + 1e-12)  # the count a tail may hold; exact integers compare with it exactly
    while c < len(cumulative) and int(cumulative[c]) <= bound:
        c += 1
    if c == 0:
        return 0, 1.0 - 2.0 * int(cumulative[0]) / total
    return c, 1.0 - 2.0 * int(cumulative[c - 1]) / total
