"""Values of any magnitude: the tests are scale-equivariant, so extreme data never overflow."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from crystallize.stats import (
    mann_whitney_u,
    noninferiority,
    paired_ttest,
    permutation_test,
    relative_tost,
    student_ttest,
    tost,
    welch_ttest,
    wilcoxon_signed_rank,
)

TESTS = [welch_ttest, student_ttest, paired_ttest, mann_whitney_u, wilcoxon_signed_rank]


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    return rng.normal(1, 0.5, size=10), rng.normal(1.6, 0.7, size=10)


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("scale", [1e80, 1e160, 1e300, 1e-80, 1e-300])
def test_extreme_scales_give_the_same_answer(test, scale, data):
    b, t = data
    plain = test(b, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or underflow warnings either
        big = test(b * scale, t * scale)
    assert big.p_value == pytest.approx(plain.p_value, rel=1e-9)
    assert big.estimate == pytest.approx(plain.estimate * scale, rel=1e-9)
    assert big.ci.low == pytest.approx(plain.ci.low * scale, rel=1e-9)
    assert big.mean_treatment == pytest.approx(plain.mean_treatment * scale, rel=1e-9)


def test_margins_and_location_statistics_scale_too(data):
    b, t = data
    scale = 1e120
    assert tost(b * scale, t * scale, low=-scale, high=scale).p_value == pytest.approx(
        tost(b, t, low=-1.0, high=1.0).p_value, rel=1e-9)
    assert noninferiority(b * scale, t * scale, margin=0.2 * scale).p_value == pytest.approx(
        noninferiority(b, t, margin=0.2).p_value, rel=1e-9)
    plain = permutation_test(b, t, rng=1)
    big = permutation_test(b * scale, t * scale, rng=1)
    assert big.statistic == pytest.approx(plain.statistic * scale) and big.p_value == plain.p_value
    assert relative_tost(b * scale, t * scale, margin=0.5).p_value == pytest.approx(
        relative_tost(b, t, margin=0.5).p_value, rel=1e-9)


def test_ordinary_data_are_untouched(data):
    b, t = data
    scaled = welch_ttest(b * 2.0**60, t * 2.0**60)  # within range: computed as given
    assert scaled.ci.low == welch_ttest(b, t).ci.low * 2.0**60
