"""Permutation test: exact p-values equal SciPy's; random ones agree statistically."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from crystallize.stats import DegenerateDataWarning, cohens_dz, hedges_g, permutation_test
from crystallize.stats import _permutation as perm

SMALL = [
    ([1.0, 2.0, 3.0, 4.0], [3.0, 5.0, 6.0, 7.0]),
    ([0.3, -1.2, 0.8, 0.1, 2.2, -0.4], [1.1, 0.9, 2.5, 0.2, 1.7, 0.6, 1.9]),
    ([5.0, 3.0, 4.0, 4.0, 6.0, 2.0, 5.0, 3.0], [4.0, 6.0, 5.0]),  # ties, unequal sizes
    ([2.0, 2.0, 3.0, 1.0, 2.0], [2.0, 3.0, 3.0, 2.0, 4.0]),  # many ties
]


@pytest.mark.parametrize(("b", "t"), SMALL)
def test_exact_independent_matches_scipy(b, t, alternative, mean_diff):
    res = permutation_test(b, t, alternative=alternative, n_resamples=10**6)
    # scipy.stats.permutation_test((t, b), mean_diff, permutation_type="independent",
    #                              n_resamples=10**6, alternative=alternative)   -> exact
    ref = stats.permutation_test((t, b), mean_diff, alternative=alternative, n_resamples=10**6)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.effect_size == pytest.approx(hedges_g(b, t))
    assert "exact" in res.notes[-1]


@pytest.mark.parametrize("n", [3, 6, 11])
def test_exact_paired_matches_scipy(n, alternative, mean_diff):
    rng = np.random.default_rng(n)
    b = rng.normal(size=n)
    t = b + rng.normal(0.4, 1.0, size=n)
    res = permutation_test(b, t, paired=True, alternative=alternative)
    # scipy.stats.permutation_test((t, b), mean_diff, permutation_type="samples", alternative=alternative)
    ref = stats.permutation_test((t, b), mean_diff, permutation_type="samples", alternative=alternative)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.effect_size == pytest.approx(cohens_dz(b, t))
    assert res.n_pairs == n


def test_exact_paired_with_integer_ties(alternative, mean_diff):
    b = np.array([3.0, 4.0, 2.0, 5.0, 4.0, 3.0, 1.0, 2.0])
    t = b + np.array([1.0, 0.0, 1.0, -1.0, 2.0, 1.0, 1.0, 0.0])
    ref = stats.permutation_test((t, b), mean_diff, permutation_type="samples", alternative=alternative)
    assert permutation_test(b, t, paired=True, alternative=alternative).p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_enumerates_when_count_equals_n_resamples():
    b, t = [1.0, 2.0, 3.0], [2.5, 4.0, 5.0]  # comb(6, 3) = 20 arrangements
    assert "exact: all 20" in permutation_test(b, t, n_resamples=20).notes[-1]
    assert "Monte Carlo" in permutation_test(b, t, n_resamples=19, rng=0).notes[-1]


@pytest.mark.parametrize("paired", [False, True])
def test_random_agrees_with_scipy_statistically(paired, alternative, mean_diff):
    rng = np.random.default_rng(99)
    b = rng.normal(size=30)
    t = b * paired + rng.normal(0.35, 1.0, size=30)
    n = 20_000
    ours = permutation_test(b, t, paired=paired, alternative=alternative, n_resamples=n, rng=1).p_value
    kind = "samples" if paired else "independent"
    # scipy.stats.permutation_test((t, b), mean_diff, permutation_type=kind, n_resamples=n)
    ref = stats.permutation_test((t, b), mean_diff, permutation_type=kind, alternative=alternative,
                                 n_resamples=n, rng=2).pvalue
    # both are Monte Carlo estimates of the same p; allow 5 standard errors of their difference
    q = min(max(ref, 1 / n), 1 - 1 / n)
    scale = 2.0 if alternative == "two-sided" else 1.0
    assert abs(ours - ref) < 5 * scale * math.sqrt(2 * q * (1 - q) / n) + 2 / n


def test_random_p_value_convention():
    b, t = np.arange(50.0), np.arange(50.0) + 1000.0  # no arrangement beats the observed one
    res = permutation_test(b, t, n_resamples=999, alternative="greater", rng=0)
    assert res.p_value == 1 / 1000  # (0 + 1) / (999 + 1): never zero
    assert permutation_test(b, t, n_resamples=999, rng=0).p_value == 2 / 1000
    assert permutation_test(b, t, n_resamples=999, alternative="less", rng=0).p_value == 1.0


def test_seeded_and_batch_invariant():
    rng = np.random.default_rng(3)
    b, t = rng.normal(size=40), rng.normal(0.3, size=45)
    first = permutation_test(b, t, n_resamples=5000, rng=7)
    assert permutation_test(b, t, n_resamples=5000, rng=7) == first
    # independent resampling draws keys row by row, so chunking does not change them
    assert permutation_test(b, t, n_resamples=5000, rng=7, batch=333).p_value == first.p_value
    assert permutation_test(b, t, n_resamples=5000, rng=np.random.default_rng(7)).p_value == first.p_value


def test_exact_chunks_match_single_chunk(monkeypatch):
    b, t = SMALL[1]
    whole = permutation_test(b, t, n_resamples=10**6).p_value
    assert permutation_test(b, t, n_resamples=10**6, batch=7).p_value == whole
    assert permutation_test(b[:5], t[:5], paired=True, batch=3).p_value == permutation_test(b[:5], t[:5], paired=True).p_value


def test_random_subsets_have_the_right_size():
    z = np.arange(10.0)
    rng = np.random.default_rng(0)
    sums = np.concatenate(list(perm._independent_random(z, 4, 2000, 512, rng)))
    # every null value is the sum of exactly 4 distinct values of 0..9
    assert sums.min() >= 0 + 1 + 2 + 3 and sums.max() <= 6 + 7 + 8 + 9
    assert sums.mean() == pytest.approx(4 * 4.5, rel=0.02)


def test_identical_constants():
    with pytest.warns(DegenerateDataWarning, match="constant"):
        res = permutation_test([1.0] * 4, [1.0] * 4)
    assert res.p_value == 1.0 and res.effect_size == 0.0


def test_different_constants_are_defined():
    with pytest.warns(DegenerateDataWarning):
        res = permutation_test([1.0] * 4, [2.0] * 4)
    # only the observed split (of comb(8, 4) = 70) puts every 2.0 in the treatment group
    assert res.p_value == pytest.approx(2 / 70)
    with pytest.warns(DegenerateDataWarning, match="paired differences"):
        paired = permutation_test([1.0] * 4, [2.0] * 4, paired=True)
    assert paired.p_value == pytest.approx(2 / 16)


def test_validation_messages():
    with pytest.raises(ValueError, match=r"`n_resamples` must be an integer >= 1, got 0"):
        permutation_test([1.0, 2.0], [3.0, 4.0], n_resamples=0)
    with pytest.raises(ValueError, match=r"`batch` must be an integer >= 1, got -1"):
        permutation_test([1.0, 2.0], [3.0, 4.0], batch=-1)
    with pytest.raises(ValueError, match=r"`paired` must be True or False, got 'yes'"):
        permutation_test([1.0, 2.0], [3.0, 4.0], paired="yes")
    with pytest.raises(ValueError, match=r"`rng` must be None, an int seed, a SeedSequence or a Generator"):
        permutation_test([1.0, 2.0], [3.0, 4.0], rng="seed")


def test_tied_keys_are_redrawn(monkeypatch):
    # force heavy ties among the random keys: every affected row falls back to a permutation
    def tied_words(rng, rows, cols, dtype):
        return rng.integers(0, 3, size=(rows, cols)).astype(dtype)

    monkeypatch.setattr(perm, "_random_words", tied_words)
    z = np.zeros(10)
    z[0] = 1.0  # the null value counts how often element 0 lands in the subset
    draws = np.concatenate(list(perm._independent_random(z, 4, 4000, 1000, np.random.default_rng(1))))
    assert set(np.unique(draws)) <= {0.0, 1.0}
    assert draws.mean() == pytest.approx(4 / 10, abs=0.03)  # inclusion probability k / n
