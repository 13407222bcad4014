"""Power and sample size against statsmodels' TTestIndPower / TTestPower."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import TTestIndPower, TTestPower

from crystallize.stats import required_replicates, ttest_power

SM_ALT = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


@pytest.mark.parametrize("d", [0.2, 0.5, 0.8, 1.5, -0.6])
@pytest.mark.parametrize("n", [2, 5, 20, 100])
@pytest.mark.parametrize("paired", [False, True])
def test_power_matches_statsmodels(d, n, paired, alternative):
    # statsmodels.stats.power.TTestIndPower().power(d, nobs1=n, alpha=0.05, alternative=...)
    # (TTestPower().power(d, nobs=n, ...) when paired)
    ref = (TTestPower() if paired else TTestIndPower()).power(d, n, 0.05, alternative=SM_ALT[alternative])
    if math.isnan(ref):  # statsmodels inherits a NaN from scipy.stats.nct's far tail; it is ~0 there
        ref = (TTestPower() if paired else TTestIndPower()).power(d, n, 0.05, alternative="larger" if d > 0 else "smaller")
    assert ttest_power(d, n, paired=paired, alternative=alternative) == pytest.approx(ref, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("d", [0.3, 0.5, 0.8, 1.2, 2.5])
@pytest.mark.parametrize("paired", [False, True])
@pytest.mark.parametrize(("alpha", "power"), [(0.05, 0.8), (0.01, 0.9)])
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_required_replicates_matches_statsmodels(d, paired, alpha, power, alternative):
    # ceil(TTestIndPower().solve_power(d, power=power, alpha=alpha, alternative=...))
    solver = TTestPower() if paired else TTestIndPower()
    n = solver.solve_power(d, power=power, alpha=alpha, alternative=SM_ALT[alternative])
    ours = required_replicates(d, alpha=alpha, power=power, paired=paired, alternative=alternative)
    assert ours == max(2, math.ceil(n - 1e-9))
    assert ttest_power(d, ours, alpha=alpha, paired=paired, alternative=alternative) >= power
    if ours > 2:
        assert ttest_power(d, ours - 1, alpha=alpha, paired=paired, alternative=alternative) < power


def test_known_values():
    assert required_replicates(0.5) == 64  # Cohen (1988), table 2.4.1: d = 0.5, power 0.8 -> 64
    assert required_replicates(0.8) == 26  # Cohen (1988): d = 0.8 -> 26
    assert required_replicates(-0.5, alternative="less") == required_replicates(0.5, alternative="greater")


def test_validation_messages():
    with pytest.raises(ValueError, match=r"`effect_size`=0.0 cannot be detected with alternative='two-sided'"):
        required_replicates(0.0)
    with pytest.raises(ValueError, match=r"`effect_size`=-0.5 cannot be detected with alternative='greater'"):
        required_replicates(-0.5, alternative="greater")
    with pytest.raises(ValueError, match=r"`power` must be in \(alpha, 1\) = \(0.05, 1\), got 1.2"):
        required_replicates(0.5, power=1.2)
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0, 1\), got 0"):
        ttest_power(0.5, 10, alpha=0)
    with pytest.raises(ValueError, match=r"`n` must be an integer >= 2, got 1"):
        ttest_power(0.5, 1)
    with pytest.raises(ValueError, match=r"needs more than 10000000 replicates"):
        required_replicates(1e-5)
