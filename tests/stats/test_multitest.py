"""p-value adjustment against statsmodels and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from crystallize.stats import adjust_pvalues

CASES = [
    np.array([0.01, 0.04, 0.03, 0.005, 0.2]),
    np.array([0.05, 0.05, 0.01, 0.01, 0.9, 1.0]),  # ties
    np.random.default_rng(1).uniform(size=50) ** 3,
    np.array([0.3]),
]


@pytest.mark.parametrize("p", CASES)
@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh"])
def test_matches_statsmodels(p, method):
    # statsmodels.stats.multitest.multipletests(p, method=method)[1]
    ref = multipletests(p, method=method)[1]
    np.testing.assert_allclose(adjust_pvalues(p, method=method), ref, rtol=1e-12)


@pytest.mark.parametrize("p", CASES)
def test_bh_matches_scipy(p):
    # scipy.stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(adjust_pvalues(p, "fdr_bh"), stats.false_discovery_control(p), rtol=1e-12)


def test_none_is_identity_and_shape_kept():
    p = np.array([[0.01, 0.2], [0.03, 0.5]])
    np.testing.assert_array_equal(adjust_pvalues(p, None), p)
    out = adjust_pvalues(p, "holm")
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out.ravel(), multipletests(p.ravel(), method="holm")[1])
    assert adjust_pvalues([], "holm").size == 0


def test_default_is_holm():
    np.testing.assert_array_equal(adjust_pvalues(CASES[0]), adjust_pvalues(CASES[0], "holm"))


def test_validation_messages():
    with pytest.raises(ValueError, match=r"`method` must be one of \('holm', 'bonferroni', 'fdr_bh', None\), got 'bh'"):
        adjust_pvalues([0.1], "bh")
    with pytest.raises(ValueError, match=r"`pvalues` must be in \[0, 1\] without NaN"):
        adjust_pvalues([0.1, 1.2])
    with pytest.raises(ValueError, match=r"`pvalues` must be in \[0, 1\] without NaN"):
        adjust_pvalues([0.1, float("nan")])
