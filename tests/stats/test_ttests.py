"""t-tests against SciPy, plus degenerate data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from crystallize.stats import (
    DegenerateDataWarning,
    cohens_dz,
    hedges_g,
    paired_ttest,
    student_ttest,
    welch_ttest,
)


@pytest.mark.parametrize("equal_var", [False, True])
def test_independent_matches_scipy(samples, alternative, equal_var):
    b, t = samples
    func = student_ttest if equal_var else welch_ttest
    res = func(b, t, alternative=alternative)
    # scipy.stats.ttest_ind(treatment, baseline, equal_var=equal_var, alternative=alternative)
    ref = stats.ttest_ind(t, b, equal_var=equal_var, alternative=alternative)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert res.effect_size == pytest.approx(hedges_g(b, t))
    assert res.effect_size_name == "hedges_g"
    assert res.n_pairs is None and (res.n_baseline, res.n_treatment) == (b.size, t.size)


@pytest.mark.parametrize("equal_var", [False, True])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_independent_ci_matches_scipy(samples, equal_var, level):
    b, t = samples
    func = student_ttest if equal_var else welch_ttest
    ci = func(b, t, confidence_level=level).ci
    # scipy.stats.ttest_ind(t, b, equal_var=...).confidence_interval(level)  (two-sided)
    ref = stats.ttest_ind(t, b, equal_var=equal_var).confidence_interval(level)
    assert (ci.low, ci.high, ci.level) == pytest.approx((ref.low, ref.high, level), rel=1e-9)


def test_paired_matches_scipy(paired_samples, alternative):
    b, t = paired_samples
    res = paired_ttest(b, t, alternative=alternative)
    # scipy.stats.ttest_rel(treatment, baseline, alternative=alternative)
    ref = stats.ttest_rel(t, b, alternative=alternative)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert res.effect_size == pytest.approx(cohens_dz(b, t))
    assert res.effect_size_name == "cohens_dz"
    assert res.n_pairs == b.size
    ci = stats.ttest_rel(t, b).confidence_interval(0.95)
    assert res.ci.as_tuple() == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_ci_is_two_sided_for_one_sided_alternative(samples):
    b, t = samples
    assert welch_ttest(b, t, alternative="greater").ci == welch_ttest(b, t).ci


def test_means_and_difference():
    res = welch_ttest([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    assert (res.mean_baseline, res.mean_treatment, res.mean_difference) == (2.0, 4.0, 2.0)


@pytest.mark.parametrize("func", [welch_ttest, student_ttest, paired_ttest])
def test_identical_constants_give_p_one(func):
    with pytest.warns(DegenerateDataWarning, match="zero variance"):
        res = func([3.0] * 5, [3.0] * 5)
    assert res.p_value == 1.0 and not res.significant(0.05)
    assert res.statistic == 0.0 and res.effect_size == 0.0
    assert res.ci.as_tuple() == (0.0, 0.0)
    assert any("p-value set to 1" in n for n in res.notes)


def _mean_difference(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


@pytest.mark.parametrize("func", [welch_ttest, student_ttest, paired_ttest])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_different_constants_give_the_exact_permutation_p(func, alternative):
    # The t statistic is infinite for zero-variance data; the p-value is the exact permutation one:
    # scipy.stats.permutation_test((t, b), mean difference, permutation_type="samples" | "independent")
    b, t = np.full(6, 0.1), np.full(6, 0.3)
    with pytest.warns(DegenerateDataWarning):
        res = func(b, t, alternative=alternative)
    kind = "samples" if func is paired_ttest else "independent"
    ref = stats.permutation_test((t, b), _mean_difference, permutation_type=kind, alternative=alternative,
                                 n_resamples=np.inf)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.statistic == math.inf and res.effect_size == math.inf
    assert not any(math.isnan(x) for x in (res.statistic, res.p_value, res.ci.low, res.ci.high))
    assert res.notes


def test_constant_paired_shift_is_decided_by_sign_flips():
    # every difference equal (a treatment flips one prediction of 200 in each replicate): p = 2 / 2**n, not 0
    b = np.array([180.0, 171.0, 190.0, 175.0]) / 200
    with pytest.warns(DegenerateDataWarning, match="paired differences are equal"):
        res = paired_ttest(b, b + 1 / 200)
    assert res.p_value == 2 / 2**4
    with pytest.warns(DegenerateDataWarning):
        assert paired_ttest(b, b + 1 / 200, alternative="greater").p_value == 1 / 2**4


def test_differences_equal_up_to_rounding_are_zero_variance():
    b = np.array([0.9, 0.85, 0.7, 0.95])
    t = np.array([0.905, 0.855, 0.705, 0.955])  # t - b differ in the last bits only
    with pytest.warns(DegenerateDataWarning):
        assert paired_ttest(b, t).p_value == 2 / 2**4


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # from the SciPy reference call
def test_one_constant_side_is_not_degenerate():
    # only one side constant: an ordinary Welch test, as SciPy computes it
    res = welch_ttest([2.0, 2.0, 2.0], [1.0, 2.0, 4.0])
    # scipy.stats.ttest_ind([1, 2, 4], [2, 2, 2], equal_var=False)
    assert res.p_value == pytest.approx(stats.ttest_ind([1.0, 2.0, 4.0], [2.0] * 3, equal_var=False).pvalue)
    assert res.notes == ()


@pytest.mark.parametrize("func", [welch_ttest, student_ttest, paired_ttest])
def test_too_few_samples_raise(func):
    with pytest.raises(ValueError, match=r"`baseline` needs at least 2 samples, got n=1"):
        func([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"`treatment` needs at least 2 samples, got n=0"):
        func([1.0, 2.0], [])


def test_paired_length_mismatch():
    with pytest.raises(ValueError, match="paired samples need equal lengths, got n_baseline=3 and n_treatment=2"):
        paired_ttest([1.0, 2.0, 3.0], [1.0, 2.0])


def test_zero_variance_with_very_many_arrangements_is_defined():
    # comb(4000, 2000) and 2**2000 overflow a float: the p-value rounds to 0 instead of raising
    with pytest.warns(DegenerateDataWarning):
        assert welch_ttest([1.0] * 2000, [2.0] * 2000).p_value == 0.0
    with pytest.warns(DegenerateDataWarning):
        assert paired_ttest(np.arange(2000.0), np.arange(2000.0) + 1).p_value == 0.0
