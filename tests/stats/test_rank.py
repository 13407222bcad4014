"""Rank tests against SciPy, plus ties and degenerate data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crystallize.stats import DegenerateDataWarning, mann_whitney_u, rank_biserial, wilcoxon_signed_rank


def test_mann_whitney_matches_scipy(samples, alternative):
    b, t = samples
    res = mann_whitney_u(b, t, alternative=alternative)
    # scipy.stats.mannwhitneyu(treatment, baseline, alternative=alternative)
    ref = stats.mannwhitneyu(t, b, alternative=alternative)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.statistic == ref.statistic  # U of the treatment sample
    assert res.effect_size == pytest.approx(2 * ref.statistic / (b.size * t.size) - 1)
    assert res.effect_size_name == "rank_biserial"


def test_mann_whitney_small_exact_and_ties():
    # no ties, n <= 8: SciPy's exact distribution; with ties: normal approximation
    for b, t in [([1.0, 4.0, 6.0], [2.0, 7.0, 8.0, 9.0]), ([1.0, 2.0, 2.0, 3.0], [2.0, 3.0, 3.0, 5.0])]:
        for alt in ("two-sided", "greater", "less"):
            ref = stats.mannwhitneyu(t, b, alternative=alt)  # scipy.stats.mannwhitneyu(t, b, alternative=alt)
            assert mann_whitney_u(b, t, alternative=alt).p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_wilcoxon_matches_scipy(paired_samples, alternative):
    b, t = paired_samples
    res = wilcoxon_signed_rank(b, t, alternative=alternative)
    # scipy.stats.wilcoxon(treatment, baseline, alternative=alternative)
    ref = stats.wilcoxon(t, b, alternative=alternative)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    # R+ whatever the alternative; SciPy's one-sided statistic is R+
    assert res.statistic == pytest.approx(stats.wilcoxon(t, b, alternative="greater").statistic)
    assert res.effect_size == pytest.approx(rank_biserial(b, t, paired=True))
    assert res.n_pairs == b.size


def test_wilcoxon_with_zero_differences_and_ties():
    b = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    t = b + np.array([0.0, 1.0, 1.0, -1.0, 2.0, 0.0, 3.0, 1.0])
    for alt in ("two-sided", "greater", "less"):
        ref = stats.wilcoxon(t, b, alternative=alt)  # scipy.stats.wilcoxon(t, b, alternative=alt)
        assert wilcoxon_signed_rank(b, t, alternative=alt).p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_rank_ci_is_hodges_lehmann_shift():
    b = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    res = mann_whitney_u(b, b + 3.0)
    # the Moses interval contains the true shift and is built from pairwise differences
    assert res.ci.low < 3.0 < res.ci.high
    assert res.ci.low in set(np.subtract.outer(b + 3.0, b).ravel())
    paired = wilcoxon_signed_rank(b, b + np.linspace(1, 2, 10))
    assert 1.0 <= paired.ci.low < paired.ci.high <= 2.0


def test_mann_whitney_identical_constants():
    with pytest.warns(DegenerateDataWarning, match="both samples are constant"):
        res = mann_whitney_u([2.0] * 5, [2.0] * 5)
    assert res.p_value == 1.0 and res.effect_size == 0.0 and res.notes


def test_mann_whitney_different_constants():
    with pytest.warns(DegenerateDataWarning):
        res = mann_whitney_u([1.0] * 5, [2.0] * 5)
    # scipy.stats.mannwhitneyu([2.0] * 5, [1.0] * 5) -> p = 0.00397...
    assert res.p_value == pytest.approx(stats.mannwhitneyu([2.0] * 5, [1.0] * 5).pvalue)
    assert res.effect_size == 1.0 and res.ci.as_tuple() == (1.0, 1.0)


def test_wilcoxon_all_zero_differences():
    with pytest.warns(DegenerateDataWarning, match="all paired differences are zero"):
        res = wilcoxon_signed_rank([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert res.p_value == 1.0 and res.statistic == 0.0 and res.effect_size == 0.0


def test_wilcoxon_constant_shift():
    with pytest.warns(DegenerateDataWarning, match="all paired differences are equal"):
        res = wilcoxon_signed_rank([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 3.0, 4.0, 5.0, 6.0])
    assert res.p_value == pytest.approx(0.0625)  # scipy.stats.wilcoxon([1.0] * 5) -> 0.0625


def test_rank_tests_validate():
    with pytest.raises(ValueError, match="`alternative` must be one of"):
        mann_whitney_u([1.0, 2.0], [3.0, 4.0], alternative="bigger")
    with pytest.raises(ValueError, match="paired samples need equal lengths"):
        wilcoxon_signed_rank([1.0, 2.0], [3.0, 4.0, 5.0])
