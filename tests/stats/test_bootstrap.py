"""Bootstrap intervals against scipy.stats.bootstrap: same draws, and statistically."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crystallize.stats import DegenerateDataWarning, bootstrap_ci

RNG = np.random.default_rng(2024)
B, T = RNG.exponential(1.0, 15), RNG.exponential(2.0, 12)
PB = RNG.exponential(1.0, 14)
PT = PB + RNG.normal(0.5, 0.7, 14)


@pytest.mark.parametrize("method", ["BCa", "percentile"])
@pytest.mark.parametrize("statistic", ["mean_difference", "median_difference"])
def test_same_draws_as_scipy(method, statistic, mean_diff, median_diff):
    # With one chunk and the same seed we draw exactly what SciPy draws, so the
    # intervals agree to rounding:
    # scipy.stats.bootstrap((T, B), mean_diff, method=method, n_resamples=9999, rng=1)
    func = mean_diff if statistic == "mean_difference" else median_diff
    ref = stats.bootstrap((T, B), func, method=method, rng=1).confidence_interval
    ci = bootstrap_ci(B, T, statistic=statistic, method=method, rng=1)
    assert (ci.low, ci.high) == pytest.approx((ref.low, ref.high), rel=1e-9)


@pytest.mark.parametrize("method", ["BCa", "percentile"])
def test_paired_same_draws_as_scipy(method, mean_diff):
    # scipy.stats.bootstrap((PT, PB), mean_diff, paired=True, method=method, rng=3)
    ref = stats.bootstrap((PT, PB), mean_diff, paired=True, method=method, rng=3).confidence_interval
    ci = bootstrap_ci(PB, PT, paired=True, method=method, rng=3)
    assert (ci.low, ci.high) == pytest.approx((ref.low, ref.high), rel=1e-9)


@pytest.mark.parametrize("method", ["BCa", "percentile"])
@pytest.mark.parametrize("paired", [False, True])
def test_statistically_close_to_scipy_with_other_seeds(method, paired, mean_diff):
    b, t = (PB, PT) if paired else (B, T)
    n = 50_000
    ref = stats.bootstrap((t, b), mean_diff, paired=paired, method=method, n_resamples=n, rng=11).confidence_interval
    # many small chunks, another seed: a different Monte Carlo draw of the same interval
    ci = bootstrap_ci(b, t, paired=paired, method=method, n_resamples=n, rng=12, batch=1000)
    width = ref.high - ref.low
    assert ci.low == pytest.approx(ref.low, abs=0.03 * width)
    assert ci.high == pytest.approx(ref.high, abs=0.03 * width)


def test_bca_pinned_value():
    # Computed once with SciPy 1.17:
    # scipy.stats.bootstrap(([4.1, 5.3, 6.0, 7.2, 5.5, 8.9, 6.4, 5.0],
    #                        [3.2, 4.4, 5.1, 3.9, 4.0, 6.2, 4.8, 3.5]),
    #                       mean_diff, method="BCa", n_resamples=9999, rng=0).confidence_interval
    b = [3.2, 4.4, 5.1, 3.9, 4.0, 6.2, 4.8, 3.5]
    t = [4.1, 5.3, 6.0, 7.2, 5.5, 8.9, 6.4, 5.0]
    ci = bootstrap_ci(b, t, method="BCa", n_resamples=9999, rng=0)
    assert (ci.low, ci.high) == pytest.approx((0.6124999999999998, 2.9250000000000003), rel=1e-9)


def test_bca_differs_from_percentile_on_skewed_data():
    bca = bootstrap_ci(B, T, rng=5)
    pct = bootstrap_ci(B, T, method="percentile", rng=5)
    assert bca != pct and bca.low < bca.high


def test_levels_nest():
    cis = [bootstrap_ci(B, T, confidence_level=lv, rng=5) for lv in (0.8, 0.9, 0.99)]
    assert cis[0].low > cis[1].low > cis[2].low and cis[0].high < cis[1].high < cis[2].high
    assert [c.level for c in cis] == [0.8, 0.9, 0.99]


def test_callable_and_relative_statistics():
    ci = bootstrap_ci([2.0, 2.2, 1.9, 2.1], [3.0, 3.1, 2.9, 3.3], statistic="relative_difference", rng=0)
    assert 0.3 < ci.low < ci.high < 0.7

    def trimmed(b: np.ndarray, t: np.ndarray, axis: int = -1) -> np.ndarray:
        return stats.trim_mean(t, 0.1, axis=axis) - stats.trim_mean(b, 0.1, axis=axis)

    ci = bootstrap_ci(B, T, statistic=trimmed, method="percentile", rng=0)
    assert ci.low < ci.high


def test_constant_data_gives_point_interval():
    with pytest.warns(DegenerateDataWarning, match="degenerate"):
        ci = bootstrap_ci([1.0] * 5, [3.0] * 6, rng=0)
    assert (ci.low, ci.high) == (2.0, 2.0)


def test_validation_messages():
    with pytest.raises(ValueError, match=r"`method` must be one of \('BCa', 'percentile'\), got 'basic'"):
        bootstrap_ci(B, T, method="basic")
    with pytest.raises(ValueError, match=r"`statistic` must be one of \('mean_difference'"):
        bootstrap_ci(B, T, statistic="mode")
    with pytest.raises(ValueError, match=r"`n_resamples` must be an integer >= 2, got 1"):
        bootstrap_ci(B, T, n_resamples=1)
    with pytest.raises(ValueError, match=r"`confidence_level` must be in \(0, 1\), got 95"):
        bootstrap_ci(B, T, confidence_level=95)
    assert bootstrap_ci(B, T, method="bca", rng=0) == bootstrap_ci(B, T, method="BCa", rng=0)
