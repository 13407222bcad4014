"""TOST and non-inferiority against statsmodels and shifted SciPy t-tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

from crystallize.stats import DegenerateDataWarning, noninferiority, tost


@pytest.mark.parametrize(("low", "high"), [(-0.5, 0.5), (-1.0, 0.2), (0.1, 2.0)])
def test_tost_matches_statsmodels(samples, low, high):
    b, t = samples
    res = tost(b, t, low=low, high=high)
    # statsmodels.stats.weightstats.ttost_ind(treatment, baseline, low, high, usevar="unequal")
    p, lower, upper = ttost_ind(t, b, low, high, usevar="unequal")
    assert res.p_value == pytest.approx(p, rel=1e-9)
    assert res.statistic == pytest.approx(lower[0] if lower[1] >= upper[1] else upper[0], rel=1e-9)
    assert res.alternative == "equivalence" and res.ci.level == 0.90


@pytest.mark.parametrize(("low", "high"), [(-0.5, 0.5), (0.0, 1.5)])
def test_tost_paired_matches_statsmodels(paired_samples, low, high):
    b, t = paired_samples
    # statsmodels.stats.weightstats.ttost_paired(treatment, baseline, low, high)
    p = ttost_paired(t, b, low, high)[0]
    assert tost(b, t, low=low, high=high, paired=True).p_value == pytest.approx(p, rel=1e-9)


def test_tost_decides_equivalence():
    rng = np.random.default_rng(4)
    b = rng.normal(10, 0.2, 30)
    same = b + rng.normal(0, 0.05, 30)
    assert tost(b, same, low=-0.3, high=0.3).significant(0.05)
    assert not tost(b, same + 1.0, low=-0.3, high=0.3).significant(0.05)


def test_noninferiority_matches_shifted_ttests(samples):
    b, t = samples
    m = 0.4
    # scipy.stats.ttest_ind(treatment + margin, baseline, equal_var=False, alternative="greater")
    ref = stats.ttest_ind(t + m, b, equal_var=False, alternative="greater")
    res = noninferiority(b, t, margin=m)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-9)
    # lower is better: scipy.stats.ttest_ind(treatment - margin, baseline, equal_var=False, alternative="less")
    ref = stats.ttest_ind(t - m, b, equal_var=False, alternative="less")
    res = noninferiority(b, t, margin=m, higher_is_better=False)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9) and res.alternative == "less"


def test_noninferiority_paired_matches_scipy(paired_samples):
    b, t = paired_samples
    # scipy.stats.ttest_rel(treatment + margin, baseline, alternative="greater")
    ref = stats.ttest_rel(t + 0.3, b, alternative="greater")
    assert noninferiority(b, t, margin=0.3, paired=True).p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_zero_variance_gives_the_exact_permutation_p():
    # constant samples: the observed split is the most extreme of comb(8, 4) = 70
    with pytest.warns(DegenerateDataWarning):
        assert tost([1.0] * 4, [1.2] * 4, low=-0.5, high=0.5).p_value == pytest.approx(1 / 70)
    with pytest.warns(DegenerateDataWarning):
        assert tost([1.0] * 4, [2.0] * 4, low=-0.5, high=0.5).p_value == 1.0
    with pytest.warns(DegenerateDataWarning):
        assert noninferiority([1.0] * 4, [0.9] * 4, margin=0.2).p_value == pytest.approx(1 / 70)
    with pytest.warns(DegenerateDataWarning):  # paired: 2**3 sign patterns
        assert noninferiority([1.0, 2.0, 3.0], [0.9, 1.9, 2.9], margin=0.2, paired=True).p_value == 1 / 8


def test_validation_messages():
    with pytest.raises(ValueError, match=r"`low` must be below `high`, got low=1.0, high=-1.0"):
        tost([1.0, 2.0], [1.0, 2.0], low=1.0, high=-1.0)
    with pytest.raises(ValueError, match=r"`high` must be a finite number, got inf"):
        tost([1.0, 2.0], [1.0, 2.0], low=-1.0, high=float("inf"))
    with pytest.raises(ValueError, match=r"`margin` must be positive, got -0.1"):
        noninferiority([1.0, 2.0], [1.0, 2.0], margin=-0.1)
    with pytest.raises(ValueError, match=r"`higher_is_better` must be True or False, got 'up'"):
        noninferiority([1.0, 2.0], [1.0, 2.0], margin=0.1, higher_is_better="up")  # type: ignore[arg-type]
