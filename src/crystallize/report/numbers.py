"""The few numbers the report draws: per-condition summaries and mean differences."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _sp

from crystallize.core.record import is_number

__all__ = ["Difference", "Summary", "describe", "mean_difference", "numeric"]


def numeric(values: Sequence[Any]) -> list[float] | None:
    """``values`` as finite floats, or ``None`` when any is not a number."""
    if not all(is_number(v) for v in values):
        return None
    return [float(v) for v in values if math.isfinite(float(v))]


@dataclass(frozen=True, slots=True)
class Summary:
    """Location and spread of one condition's samples of one metric."""

    n: int
    mean: float
    sd: float
    ci: tuple[float, float]
    quartiles: tuple[float, float, float]
    low: float
    high: float


def _t_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    mean = float(values.mean())
    if values.size < 2:
        return mean, mean
    half = float(_sp.t.ppf(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return mean - half, mean + half


def describe(values: Sequence[float], level: float = 0.95) -> Summary | None:
    """Mean, sd, t-interval of the mean, quartiles and range (``None`` for no values)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    q1, median, q3 = (float(q) for q in np.percentile(data, [25, 50, 75]))
    sd = float(data.std(ddof=1)) if data.size > 1 else 0.0
    return Summary(int(data.size), float(data.mean()), sd, _t_interval(data, level), (q1, median, q3),
                   float(data.min()), float(data.max()))


@dataclass(frozen=True, slots=True)
class Difference:
    """Treatment mean minus baseline mean, with a t-interval."""

    estimate: float
    ci: tuple[float, float]
    n: int
    paired: bool


def mean_difference(
    baseline: Mapping[int, float], treatment: Mapping[int, float], level: float = 0.95
) -> Difference | None:
    """The mean difference of two conditions keyed by replicate.

    Paired (interval of the per-replicate differences) when at least two
    replicates have both values, as under common random numbers; otherwise
    Welch's interval. ``None`` when a side has no values.
    """
    shared = sorted(set(baseline) & set(treatment))
    if len(shared) >= 2:
        diffs = np.asarray([treatment[r] - baseline[r] for r in shared], dtype=float)
        return Difference(float(diffs.mean()), _t_interval(diffs, level), len(shared), True)
    b = np.asarray(list(baseline.values()), dtype=float)
    t = np.asarray(list(treatment.values()), dtype=float)
    if b.size == 0 or t.size == 0:
        return None
    estimate = float(t.mean() - b.mean())
    if b.size < 2 or t.size < 2:
        return Difference(estimate, (estimate, estimate), min(b.size, t.size), False)
    vb, vt = b.var(ddof=1) / b.size, t.var(ddof=1) / t.size
    se = math.sqrt(vb + vt)
    if se == 0:
        return Difference(estimate, (estimate, estimate), min(b.size, t.size), False)
    df = (vb + vt) ** 2 / (vb**2 / (b.size - 1) + vt**2 / (t.size - 1))
    half = float(_sp.t.ppf(0.5 + level / 2, df) * se)
    return Difference(estimate, (estimate - half, estimate + half), min(b.size, t.size), False)
