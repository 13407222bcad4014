"""Permutation test of the mean difference, vectorised and memory-bounded.

The null distribution is of the treatment-group sum, a monotone function of the
mean difference, so each arrangement costs one dot product. Independent samples
are re-split at random (or every split is enumerated); paired samples have the
sign of each difference flipped (every sign pattern, or random ones).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crystallize.stats._result import TestResult
from crystallize.stats._scaling import scale_free
from crystallize.stats._ttests import difference_se_df, mean_difference_result
from crystallize.stats._validation import (
    Alternative,
    FloatArray,
    RngLike,
    check_alternative,
    check_confidence_level,
    check_paired,
    check_positive_int,
    check_two_samples,
    degenerate,
    is_constant,
    normalise_rng,
)

__all__ = ["permutation_test"]

#: Elements (resamples x observations) per chunk: small enough to stay in cache.
CHUNK_ELEMENTS = 2**18
#: Null values within this many ulps of the data's scale count as ties.
TIE_ULPS = 1000


def _chunks(total: int, size: int) -> Iterator[int]:
    for start in range(0, total, size):
        yield min(size, total - start)


def _independent_exact(z: FloatArray, k: int, chunk: int) -> Iterator[FloatArray]:
    combos = itertools.combinations(range(z.size), k)
    while True:
        flat = np.fromiter(
            itertools.chain.from_iterable(itertools.islice(combos, chunk)), dtype=np.intp
        )
        if flat.size == 0:
            return
        yield z[flat.reshape(-1, k)].sum(axis=1)


def _random_words(rng: np.random.Generator, rows: int, cols: int, dtype: type[np.unsignedinteger]) -> NDArray[np.unsignedinteger]:
    """``rows x cols`` uniformly random unsigned integers straight from the bit generator."""
    per_word = 8 // np.dtype(dtype).itemsize
    raw = rng.bit_generator.random_raw((rows, -(-cols // per_word)))
    return np.asarray(raw, dtype=np.uint64).view(dtype)[:, :cols]


def _independent_random(
    z: FloatArray, k: int, n_resamples: int, chunk: int, rng: np.random.Generator
) -> Iterator[FloatArray]:
    # The k smallest of n i.i.d. uniform keys form a uniformly random k-subset.
    # 32-bit keys are cheap to draw and to partition; a row whose k-th key is
    # tied (chance about n / 2**32) is redrawn as an explicit permutation.
    for size in _chunks(n_resamples, chunk):
        keys = _random_words(rng, size, z.size, np.uint32)
        kth = np.partition(keys, k - 1, axis=1)[:, k - 1 : k]
        mask = keys <= kth
        if np.count_nonzero(mask) != size * k:
            for row in np.flatnonzero(np.count_nonzero(mask, axis=1) != k):
                mask[row] = False
                mask[row, rng.permutation(z.size)[:k]] = True
        yield mask @ z


def _paired_exact(d: FloatArray, chunk: int) -> Iterator[FloatArray]:
    n, total = d.size, float(d.sum())
    shifts = np.arange(n, dtype=np.int64)
    for start in range(0, 2**n, chunk):
        codes = np.arange(start, min(start + chunk, 2**n), dtype=np.int64)
        flips = ((codes[:, None] >> shifts) & 1).astype(np.float64)
        yield total - 2.0 * (flips @ d)


def _paired_random(
    d: FloatArray, n_resamples: int, chunk: int, rng: np.random.Generator
) -> Iterator[FloatArray]:
    n, total = d.size, float(d.sum())
    n_bytes = (n + 7) // 8
    for size in _chunks(n_resamples, chunk):
        flips = np.unpackbits(_random_words(rng, size, n_bytes, np.uint8), axis=1, count=n)
        yield total - 2.0 * (flips @ d)


def _p_value(
    null: Iterator[FloatArray], observed: float, gamma: float, count: int, exact: bool, alternative: Alternative
) -> float:
    n_le = n_ge = 0
    for values in null:
        n_le += int(np.count_nonzero(values <= observed + gamma))
        n_ge += int(np.count_nonzero(values >= observed - gamma))
    adjust = 0 if exact else 1  # (count + 1) / (n + 1) for random resamples
    p_less = (n_le + adjust) / (count + adjust)
    p_greater = (n_ge + adjust) / (count + adjust)
    if alternative == "less":
        return min(p_less, 1.0)
    if alternative == "greater":
        return min(p_greater, 1.0)
    return min(2.0 * min(p_less, p_greater), 1.0)


@scale_free(location_statistic=True)
def permutation_test(
    baseline: ArrayLike,
    treatment: ArrayLike,
    *,
    paired: bool = False,
    n_resamples: int = 10_000,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
    rng: RngLike = None,
    batch: int | None = None,
) -> TestResult:
    """Permutation test of the mean difference (treatment minus baseline).

    Independent samples are pooled and re-split; paired samples have the sign of
    each difference flipped. When the number of distinct arrangements
    (``comb(n_b + n_t, n_t)``, or ``2**n_pairs`` when paired) is at most
    ``n_resamples`` every one is enumerated and the p-value is exact, matching
    ``scipy.stats.permutation_test((treatment, baseline), statistic,
    permutation_type="independent" | "samples")`` with ``statistic`` the mean
    difference. Otherwise ``n_resamples`` random arrangements are drawn in chunks
    (memory stays bounded) and the p-value is ``(count + 1) / (n_resamples + 1)``
    as in SciPy. ``effect_size`` is Hedges' g (paired: Cohen's d_z) and ``ci`` is
    the two-sided t interval of the mean difference (Welch, or paired).

    Args:
        baseline: baseline samples (at least 2, finite).
        treatment: treatment samples (at least 2, finite; same length when paired).
        paired: flip signs of paired differences instead of re-splitting.
        n_resamples: random arrangements to draw when enumeration is too large.
        alternative: ``"two-sided"``, ``"greater"`` (treatment above baseline) or ``"less"``.
        confidence_level: level of ``ci`` in (0, 1).
        rng: seed, ``SeedSequence`` or ``Generator``; ``None`` draws fresh entropy.
        batch: arrangements per chunk; ``None`` keeps each chunk near a million bytes.

    Returns:
        A :class:`TestResult` whose ``statistic`` is the observed mean difference.

    Raises:
        ValueError: for fewer than 2 samples on a side, non-finite values or bad options.

    References:
        Good, P. (2005). Permutation, Parametric, and Bootstrap Tests of Hypotheses,
        3rd ed. Springer. Phipson, B. and Smyth, G. K. (2010). Permutation p-values
        should never be zero. Stat. Appl. Genet. Mol. Biol. 9(1), 39.

    Examples:
        >>> r = permutation_test([1.0, 2.0, 3.0, 4.0], [3.0, 5.0, 6.0, 7.0])
        >>> r.statistic, r.p_value
        (2.75, 0.08571428571428572)
        >>> permutation_test([1.0, 2.0, 3.0], [2.0, 3.5, 4.0], paired=True).p_value
        0.25
    """
    paired = check_paired(paired)
    b, t = check_two_samples(baseline, treatment, paired=paired)
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    alternative = check_alternative(alternative)
    level = check_confidence_level(confidence_level)
    if batch is not None:
        batch = check_positive_int(batch, "batch")
    generator = normalise_rng(rng)
    notes: list[str] = []
    null: Iterator[FloatArray]
    if paired:
        d = t - b
        if is_constant(d):
            degenerate("all paired differences are equal (zero variance)", notes)
        count = 2**d.size
        exact = count <= n_resamples
        chunk = batch or max(1, CHUNK_ELEMENTS // d.size)
        observed = float(d.sum())
        gamma = TIE_ULPS * np.finfo(np.float64).eps * float(np.abs(d).sum())
        null = _paired_exact(d, chunk) if exact else _paired_random(d, n_resamples, chunk, generator)
    else:
        if is_constant(b) and is_constant(t):
            degenerate("both samples are constant (zero variance)", notes)
        z = np.concatenate([t, b])
        k = t.size
        count = math.comb(z.size, k)
        exact = count <= n_resamples
        chunk = batch or max(1, CHUNK_ELEMENTS // (k if exact else z.size))
        observed = float(t.sum())
        gamma = TIE_ULPS * np.finfo(np.float64).eps * float(np.abs(z).sum())
        null = (
            _independent_exact(z, k, chunk)
            if exact
            else _independent_random(z, k, n_resamples, chunk, generator)
        )
    if not exact:
        count = n_resamples
    p = _p_value(null, observed, gamma, count, exact, alternative)
    how = "exact: all" if exact else "Monte Carlo p-value from"
    notes.append(f"{how} {count} {'sign patterns' if paired else 'arrangements'}")
    diff, se, df = difference_se_df(b, t, "paired" if paired else "welch")
    statistic = float(np.mean(t) - np.mean(b))
    return mean_difference_result(
        "permutation", statistic, p, alternative, b, t, paired, (diff, se, df), level, notes
    )
