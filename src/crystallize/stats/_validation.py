"""Input validation shared by the statistics functions.

Each public function normalises its arguments here before any work starts, so
every message names the parameter, the bad value and the allowed set.
"""

from __future__ import annotations

from typing import Literal, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crystallize.stats.warnings import DegenerateDataWarning, warn

__all__ = [
    "ALTERNATIVES",
    "Alternative",
    "FloatArray",
    "RngLike",
    "check_alternative",
    "check_confidence_level",
    "check_paired",
    "check_sample",
    "check_test_args",
    "check_two_samples",
    "degenerate",
    "normalise_rng",
]

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")
FloatArray = NDArray[np.float64]
RngLike = Union[int, np.random.Generator, np.random.SeedSequence, None]

MIN_SAMPLES = 2


def check_alternative(alternative: object) -> Alternative:
    """Return ``alternative`` if it is one of :data:`ALTERNATIVES`."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"`alternative` must be one of {ALTERNATIVES}, got {alternative!r}")
    return alternative  # type: ignore[return-value]


def check_confidence_level(confidence_level: object) -> float:
    """Return ``confidence_level`` as a float in (0, 1)."""
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, (int, float)):
        raise ValueError(f"`confidence_level` must be a number in (0, 1), got {confidence_level!r}")
    level = float(confidence_level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"`confidence_level` must be in (0, 1), got {confidence_level!r}")
    return level


def check_sample(values: ArrayLike, name: str, *, min_size: int = MIN_SAMPLES) -> FloatArray:
    """Return ``values`` as a 1-D float array of finite numbers with ``min_size`` or more."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a sequence of numbers: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"`{name}` needs at least {min_size} samples, got n={arr.size}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad)[:5].tolist()
        raise ValueError(
            f"`{name}` contains {int(bad.sum())} non-finite value(s) (NaN or inf) at index {where}"
        )
    return arr


def check_two_samples(
    baseline: ArrayLike, treatment: ArrayLike, *, paired: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Validate both sides; when ``paired`` they must have equal lengths."""
    b = check_sample(baseline, "baseline")
    t = check_sample(treatment, "treatment")
    if paired and b.size != t.size:
        raise ValueError(
            f"paired samples need equal lengths, got n_baseline={b.size} and n_treatment={t.size}"
        )
    return b, t


def check_test_args(
    baseline: ArrayLike,
    treatment: ArrayLike,
    alternative: object,
    confidence_level: object,
    *,
    paired: bool = False,
) -> tuple[FloatArray, FloatArray, Alternative, float]:
    """Validate the samples, then ``alternative``, then ``confidence_level`` of a two-sample test."""
    b, t = check_two_samples(baseline, treatment, paired=paired)
    return b, t, check_alternative(alternative), check_confidence_level(confidence_level)


def check_paired(paired: object) -> bool:
    """Return ``paired`` if it is a bool."""
    if not isinstance(paired, (bool, np.bool_)):
        raise ValueError(f"`paired` must be True or False, got {paired!r}")
    return bool(paired)


def check_positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def normalise_rng(rng: RngLike) -> np.random.Generator:
    """Turn a seed, a ``SeedSequence`` or a ``Generator`` into a ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (np.random.SeedSequence, int, np.integer)) and not isinstance(
        rng, bool
    ):
        return np.random.default_rng(rng)
    raise ValueError(f"`rng` must be None, an int seed, a SeedSequence or a Generator, got {rng!r}")


def is_constant(x: FloatArray) -> bool:
    """Whether every value of ``x`` is the same (robust to rounding in ``var``)."""
    return bool(np.ptp(x) == 0.0)


#: Spreads within this many ulps of the data's magnitude are rounding, not variation.
ROUNDING_ULPS = 8


def zero_spread(x: FloatArray, *scale_of: FloatArray) -> bool:
    """Whether ``x`` varies by no more than rounding at the magnitude of ``scale_of``
    (the arrays ``x`` was computed from): paired differences of accuracies such as
    ``0.905 - 0.9`` and ``0.855 - 0.85`` count as equal."""
    if x.size == 0:
        return True
    scale = max([float(np.max(np.abs(a))) for a in (x, *scale_of) if a.size] or [0.0])
    return bool(np.ptp(x) <= ROUNDING_ULPS * np.finfo(np.float64).eps * scale)


def exact_extreme_p(diff: float, alternative: str, arrangements: int) -> float:
    """The permutation p-value of zero-variance data: the observed arrangement is the
    most extreme of ``arrangements`` equally likely ones (sign patterns, or splits).

    A t statistic is undefined (infinite) there, and would give p = 0 however few the
    samples; the exact permutation distribution gives ``1 / arrangements`` one-sided.
    """
    if diff == 0.0:
        return 1.0
    try:
        one_sided = 1.0 / arrangements
    except OverflowError:  # more arrangements than a float can count: the p-value rounds to 0
        one_sided = 0.0
    if alternative == "two-sided":
        return min(1.0, 2.0 * one_sided)
    return one_sided if (diff > 0) == (alternative == "greater") else 1.0


def degenerate(note: str, notes: list[str]) -> None:
    """Record ``note`` and emit it as a :class:`DegenerateDataWarning`."""
    notes.append(note)
    warn(note, DegenerateDataWarning)
