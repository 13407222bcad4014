"""Relative margins: the contrast t - theta * b, checked against SciPy, and Fieller's interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crystallize.stats import relative_noninferiority, relative_tost


@pytest.fixture
def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    b = rng.normal(10, 3, size=12)
    return b, b * 0.99 + rng.normal(0, 0.3, size=12)


def test_paired_noninferiority_is_a_one_sample_t_of_the_contrast(pairs):
    b, t = pairs
    res = relative_noninferiority(b, t, margin=0.05, paired=True)
    # scipy.stats.ttest_1samp(t - 0.95 * b, 0, alternative="greater")
    ref = stats.ttest_1samp(t - 0.95 * b, 0.0, alternative="greater")
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert res.estimate == pytest.approx(t.mean() / b.mean() - 1)
    assert res.estimand == "relative_difference"


def test_unpaired_noninferiority_is_welch_against_the_scaled_baseline(pairs):
    b, t = pairs
    res = relative_noninferiority(b, t[:10], margin=0.05, higher_is_better=False)
    # scipy.stats.ttest_ind(t, 1.05 * b, equal_var=False, alternative="less")
    ref = stats.ttest_ind(t[:10], 1.05 * b, equal_var=False, alternative="less")
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_tost_takes_the_larger_one_sided_p(pairs):
    b, t = pairs
    res = relative_tost(b, t, margin=0.05, paired=True)
    low = stats.ttest_1samp(t - 0.95 * b, 0.0, alternative="greater").pvalue
    high = stats.ttest_1samp(t - 1.05 * b, 0.0, alternative="less").pvalue
    assert res.p_value == pytest.approx(max(low, high), rel=1e-10)
    assert res.alternative == "equivalence"


@pytest.mark.parametrize("paired", [True, False])
def test_fieller_bounds_are_where_the_contrast_test_turns(pairs, paired):
    b, t = pairs
    res = relative_noninferiority(b, t, margin=0.05, paired=paired, confidence_level=0.9)
    for bound in (res.ci.low, res.ci.high):
        theta = 1 + bound
        if paired:  # at a Fieller bound the two-sided contrast test has p = 1 - level exactly
            p = stats.ttest_1samp(t - theta * b, 0.0).pvalue
            assert p == pytest.approx(0.10, rel=1e-8)
        else:  # the Welch df is taken at the estimate, so only approximately
            p = stats.ttest_ind(t, theta * b, equal_var=False).pvalue
            assert p == pytest.approx(0.10, rel=0.02)


def test_negative_baseline_flips_the_bounds():
    rng = np.random.default_rng(8)
    b = rng.normal(-10, 1, size=15)
    t = b * 1.01 + rng.normal(0, 0.1, size=15)  # slightly more negative: lower, worse when higher is better
    res = relative_noninferiority(b, t, margin=0.05, paired=True)
    # no worse by 5% of |mean_b|: mean_t > mean_b - 0.05 |mean_b| = 1.05 * mean_b
    ref = stats.ttest_1samp(t - 1.05 * b, 0.0, alternative="greater")
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert res.estimate == pytest.approx((t.mean() - b.mean()) / abs(b.mean()))
    assert res.ci.low < res.estimate < res.ci.high


def test_unbounded_interval_when_the_baseline_mean_is_near_zero():
    rng = np.random.default_rng(2)
    b, t = rng.normal(0.1, 1, size=8), rng.normal(0.1, 1, size=8)
    res = relative_tost(b, t, margin=0.1)
    assert res.ci is None and any("unbounded" in n for n in res.notes)


def test_validation():
    with pytest.raises(ValueError, match="baseline mean other than 0"):
        relative_noninferiority([-1.0, 1.0], [1.0, 2.0], margin=0.1)
    with pytest.raises(ValueError, match="positive fraction"):
        relative_tost([1.0, 2.0], [1.0, 2.0], margin=0.0)
