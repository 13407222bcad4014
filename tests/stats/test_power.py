"""Power and sample size against statsmodels' TTestIndPower / TTestPower, PowerTOST and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower, TTestPower

from crystallize.stats import (
    noninferiority_power,
    required_replicates,
    required_replicates_noninferiority,
    required_replicates_tost,
    tost,
    tost_power,
    ttest_power,
)

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


# -- non-inferiority: a one-sided noncentral t at the effect shifted by the margin --------------


@pytest.mark.parametrize("d", [-0.2, 0.0, 0.3])
@pytest.mark.parametrize("margin", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("n", [3, 10, 40])
@pytest.mark.parametrize("paired", [False, True])
def test_noninferiority_power_matches_statsmodels(d, margin, n, paired):
    # TTestIndPower().power(d + margin, nobs1=n, alpha=0.05, alternative="larger") (TTestPower when paired)
    ref = (TTestPower() if paired else TTestIndPower()).power(d + margin, n, 0.05, alternative="larger")
    assert noninferiority_power(d, n, margin=margin, paired=paired) == pytest.approx(ref, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("d", "margin"), [(0.0, 0.5), (0.2, 0.3), (-0.1, 0.6)])
@pytest.mark.parametrize("paired", [False, True])
def test_required_replicates_noninferiority_matches_statsmodels(d, margin, paired):
    # ceil(TTestIndPower().solve_power(d + margin, power=0.8, alpha=0.05, alternative="larger"))
    n = (TTestPower() if paired else TTestIndPower()).solve_power(d + margin, power=0.8, alpha=0.05,
                                                                   alternative="larger")
    assert required_replicates_noninferiority(d, margin=margin, paired=paired) == max(2, math.ceil(n - 1e-9))


def test_noninferiority_is_the_tost_with_an_unreachable_upper_bound():
    for paired in (False, True):
        assert tost_power(0.1, 12, low=-0.5, high=1e6, paired=paired) == pytest.approx(
            noninferiority_power(0.1, 12, margin=0.5, paired=paired), abs=1e-8)


# -- TOST: exact power against a published value and a seeded simulation ------------------------


@pytest.mark.parametrize(("n", "paired"), [(19, True), (10, False)])
def test_tost_power_matches_powertost(n, paired):
    # R: PowerTOST::sampleN.TOST(theta0=0.95, CV=0.20, design="2x2") -> n = 20, achieved power 0.8346802
    # (exact method, Owen's Q). On the log scale: sd_w = sqrt(log(1 + CV^2)), standard error of the
    # difference sd_w * sqrt(2 / 20), df = 18, bounds log(0.8), log(1.25). A paired design with 19 pairs
    # (or 10 per group unpaired) has df 18 too; rescaled to the same standard error, the power is the same.
    se = math.sqrt(math.log(1 + 0.2**2)) * math.sqrt(2 / 20)
    scale = (1 / math.sqrt(n) if paired else math.sqrt(2 / n)) / se
    power = tost_power(math.log(0.95) * scale, n, low=math.log(0.8) * scale, high=math.log(1.25) * scale,
                       paired=paired)
    assert power == pytest.approx(0.8346802, abs=5e-8)


def _simulated_tost(d: float, n: int, low: float, high: float, paired: bool, sims: int, seed: int) -> float:
    """The share of seeded simulated experiments in which both one-sided t-tests reject."""
    rng = np.random.default_rng(seed)
    if paired:
        diffs = rng.normal(d, 1.0, (sims, n))
        mean, se, df = diffs.mean(1), diffs.std(1, ddof=1) / math.sqrt(n), n - 1
    else:
        b, t = rng.normal(0.0, 1.0, (sims, n)), rng.normal(d, 1.0, (sims, n))
        pooled = np.sqrt((b.var(1, ddof=1) + t.var(1, ddof=1)) / 2)
        mean, se, df = t.mean(1) - b.mean(1), pooled * math.sqrt(2 / n), 2 * n - 2
    crit = stats.t.isf(0.05, df)
    return float(np.mean(((mean - low) / se > crit) & ((mean - high) / se < -crit)))


@pytest.mark.parametrize(("d", "n", "low", "high", "paired"), [
    (0.0, 20, -1.0, 1.0, True), (0.3, 10, -0.8, 1.0, False), (0.0, 5, -1.5, 1.5, True),
    (-0.2, 40, -0.5, 0.5, False), (0.0, 3, -2.0, 2.0, True),
])
def test_tost_power_matches_a_seeded_simulation(d, n, low, high, paired):
    sims = 100_000
    simulated = _simulated_tost(d, n, low, high, paired, sims, seed=20261204)
    power = tost_power(d, n, low=low, high=high, paired=paired)
    assert abs(simulated - power) < 4.5 * math.sqrt(power * (1 - power) / sims) + 1e-9


def test_tost_power_of_crystallize_own_tost_by_simulation():
    # the paired tost() decides exactly as the simulated paired TOST above
    rng = np.random.default_rng(5)
    hits = sum(tost(np.zeros(8), rng.normal(0.2, 1.0, 8), low=-1.0, high=1.0, paired=True).p_value < 0.05
               for _ in range(2000))
    power = tost_power(0.2, 8, low=-1.0, high=1.0, paired=True)
    assert abs(hits / 2000 - power) < 4.5 * math.sqrt(power * (1 - power) / 2000)


def test_required_replicates_tost_is_the_smallest_reaching_the_power():
    for paired in (False, True):
        n = required_replicates_tost(0.1, low=-0.5, high=0.5, paired=paired)
        assert tost_power(0.1, n, low=-0.5, high=0.5, paired=paired) >= 0.8
        assert tost_power(0.1, n - 1, low=-0.5, high=0.5, paired=paired) < 0.8
    # large n: the normal approximation, 2 (z_0.95 + z_0.9)^2 / 0.01^2 = 171,300 per group
    assert required_replicates_tost(0.0, low=-0.01, high=0.01) == pytest.approx(171_300, rel=2e-3)


def test_margin_power_validation_messages():
    with pytest.raises(ValueError, match=r"`low` must be below `high`, got low=1, high=-1"):
        tost_power(0.0, 10, low=1, high=-1)
    with pytest.raises(ValueError, match=r"`margin` must be a positive finite number, got 0"):
        noninferiority_power(0.0, 10, margin=0)
    with pytest.raises(ValueError, match=r"outside the equivalence bounds \(-0.5, 0.5\): equivalence cannot be shown"):
        required_replicates_tost(0.5, low=-0.5, high=0.5)
    with pytest.raises(ValueError, match=r"a loss at or beyond the margin 0.5: non-inferiority cannot be shown"):
        required_replicates_noninferiority(-0.5, margin=0.5)
    with pytest.raises(ValueError, match=r"`n` must be an integer >= 2, got 1"):
        tost_power(0.0, 1, low=-1, high=1)
