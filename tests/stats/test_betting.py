"""Betting e-processes for bounded differences and win rates: valid for any distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crystallize.stats import betting_eprocess

LN20 = math.log(20)


def _ever(make, sims: int, seed: int, **kwargs) -> float:
    rng = np.random.default_rng(seed)
    return float(np.mean([(betting_eprocess(make(rng), **kwargs) >= LN20).any() for _ in range(sims)]))


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_bounded_mode_holds_alpha_under_a_skewed_null(alternative):
    # a mean-zero but very skewed difference in [-1, 1]: mostly small wins, rare large losses
    def skewed(rng):
        big = rng.random(200) < 0.1
        return np.where(big, -0.9, 0.1)

    assert _ever(skewed, 1500, 1, alternative=alternative) <= 0.05


def test_win_rate_holds_alpha_for_heavy_tails():
    assert _ever(lambda rng: rng.standard_cauchy(200), 1500, 2, mode="win_rate", alternative="two-sided") <= 0.05


def test_win_rate_finds_a_treatment_that_usually_wins_despite_catastrophes():
    def usually_wins(rng):
        d = rng.normal(0.05, 0.02, 120)
        d[rng.random(120) < 0.1] = -50.0  # a catastrophic seed now and then: the mean is negative
        return d

    assert _ever(usually_wins, 300, 3, mode="win_rate") >= 0.9


def test_bounded_mode_refuses_unbounded_differences():
    with pytest.raises(ValueError, match=r"needs differences in \[-1, 1\].*mode='win_rate'"):
        betting_eprocess([0.5, 2.0])


def test_ties_count_for_neither_side():
    assert betting_eprocess([0.0] * 10, mode="win_rate").tolist() == [0.0] * 10
