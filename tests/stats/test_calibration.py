"""Calibration: false-positive rates under a true null, and power under a known shift.

Each check simulates many small seeded experiments and asks whether the observed
rate lies inside a 99.9% binomial interval around the nominal one, so a correct
test fails it about once in a thousand seeds, and these seeds are fixed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from crystallize.stats import (
    TestResult,
    bootstrap_ci,
    mann_whitney_u,
    paired_ttest,
    permutation_test,
    student_ttest,
    ttest_power,
    welch_ttest,
    wilcoxon_signed_rank,
)

ALPHA = 0.05
N = 10  # replicates per condition


def binomial_interval(rate: float, sims: int, coverage: float = 0.999) -> tuple[float, float]:
    """Central ``coverage`` interval of the observed rate for ``sims`` Bernoulli(rate) trials."""
    tail = (1 - coverage) / 2
    # scipy.stats.binom.ppf at both tails, as a fraction of the number of simulations
    return float(stats.binom.ppf(tail, sims, rate)) / sims, float(stats.binom.ppf(1 - tail, sims, rate)) / sims


def rejection_rate(test: Callable[..., TestResult], data: np.ndarray, **kwargs: object) -> float:
    """Share of simulated experiments ``data[i] = (baseline, treatment)`` with p < ALPHA."""
    return float(np.mean([test(b, t, **kwargs).p_value < ALPHA for b, t in data]))


def null_data(seed: int, sims: int, paired: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.normal(10.0, 2.0, size=(sims, 2, N))
    if paired:  # a shared replicate effect, as common random numbers give
        data += rng.normal(0.0, 3.0, size=(sims, 1, N))
    return data


@pytest.mark.parametrize(
    ("test", "paired"),
    [
        (welch_ttest, False),
        (student_ttest, False),
        (paired_ttest, True),
        (mann_whitney_u, False),
        (wilcoxon_signed_rank, True),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_false_positive_rate_under_null(test, paired, alternative):
    sims = 2000
    seed = zlib.crc32(f"{test.__name__}-{alternative}".encode())  # fresh, fixed data per case
    rate = rejection_rate(test, null_data(seed, sims, paired), alternative=alternative)
    low, high = binomial_interval(ALPHA, sims)
    assert low <= rate <= high, f"{test.__name__}: false-positive rate {rate} outside [{low}, {high}]"


@pytest.mark.parametrize("paired", [False, True])
def test_permutation_false_positive_rate_under_null(paired):
    sims = 600
    data = null_data(2, sims, paired)
    rate = rejection_rate(permutation_test, data, paired=paired, n_resamples=999, rng=3)
    low, high = binomial_interval(ALPHA, sims)
    assert low <= rate <= high


@pytest.mark.parametrize(("test", "d"), [(student_ttest, 1.0), (welch_ttest, 1.0), (student_ttest, 0.6)])
def test_power_under_known_shift(test, d):
    sims = 2000
    rng = np.random.default_rng(4)
    data = rng.normal(0.0, 1.0, size=(sims, 2, N))
    data[:, 1] += d
    expected = ttest_power(d, N)
    low, high = binomial_interval(expected, sims)
    slack = 0.01 if test is welch_ttest else 0.0  # Welch loses a little power to Student's test
    assert low - slack <= rejection_rate(test, data) <= high


def test_paired_power_under_known_shift():
    sims, dz = 2000, 0.8
    rng = np.random.default_rng(5)
    base = rng.normal(0.0, 3.0, size=(sims, N))
    data = np.stack([base, base + rng.normal(dz, 1.0, size=(sims, N))], axis=1)
    expected = ttest_power(dz, N, paired=True)
    low, high = binomial_interval(expected, sims)
    assert low <= rejection_rate(paired_ttest, data) <= high


def test_t_interval_coverage():
    sims = 2000
    rng = np.random.default_rng(6)
    data = rng.normal(0.0, 1.0, size=(sims, 2, N)) * np.array([1.0, 2.5])[None, :, None]
    data[:, 1] += 0.7
    covered = np.mean([welch_ttest(b, t).ci.low <= 0.7 <= welch_ttest(b, t).ci.high for b, t in data])
    low, high = binomial_interval(0.95, sims)
    assert low <= covered <= high


def test_bootstrap_bca_coverage_is_near_nominal():
    sims = 300
    rng = np.random.default_rng(7)
    data = rng.normal(0.0, 1.0, size=(sims, 2, 30))
    covered = np.mean([bootstrap_ci(b, t, n_resamples=999, rng=i).low <= 0.0 <= bootstrap_ci(b, t, n_resamples=999, rng=i).high
                       for i, (b, t) in enumerate(data)])
    # bootstrap intervals undercover slightly at n = 30; accept 0.95 - 0.05 .. 0.95 + 0.03
    assert 0.90 <= covered <= 0.98
