"""Fixtures for the statistics tests: seeded data sets and SciPy-style statistics."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)  # type: ignore[no-any-return]


def _median_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis) - np.median(y, axis=axis)  # type: ignore[no-any-return]


@pytest.fixture
def mean_diff() -> Callable[..., np.ndarray]:
    """Vectorised ``mean(x) - mean(y)``: the statistic handed to SciPy's resampling tests."""
    return _mean_diff


@pytest.fixture
def median_diff() -> Callable[..., np.ndarray]:
    """Vectorised ``median(x) - median(y)``."""
    return _median_diff


ALTERNATIVES = ("two-sided", "greater", "less")


def _datasets() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20240601)
    return [
        (rng.normal(0, 1, 12), rng.normal(0.7, 1, 12)),  # equal sizes, shifted
        (rng.normal(5, 1, 8), rng.normal(5, 3, 15)),  # unequal sizes and variances
        (rng.exponential(1, 20), rng.exponential(1.5, 17)),  # skewed
        (rng.integers(0, 5, 14).astype(float), rng.integers(1, 6, 14).astype(float)),  # ties
        (rng.normal(0, 1, 40), rng.normal(-0.3, 1, 40)),  # larger, negative shift
    ]


DATASETS = _datasets()


@pytest.fixture(params=range(len(DATASETS)), ids=lambda i: f"data{i}")
def samples(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    """``(baseline, treatment)`` pairs of equal-or-unequal size."""
    return DATASETS[request.param]


@pytest.fixture(params=[i for i, (b, t) in enumerate(DATASETS) if b.size == t.size], ids=lambda i: f"data{i}")
def paired_samples(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    """``(baseline, treatment)`` of equal length, usable as pairs."""
    b, t = DATASETS[request.param]
    return b, b * 0.5 + t  # correlate the sides, as common random numbers would


@pytest.fixture(params=ALTERNATIVES)
def alternative(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
