"""The few numbers the report draws: per-condition summaries and mean differences."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _sp

from crystallize.core.display import mean_sd
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


def _t_interval(mean: float, sd: float | None, n: int, level: float) -> tuple[float, float]:
    if sd is None or n < 2:
        return mean, mean
    half = float(_sp.t.ppf(0.5 + level / 2, n - 1)) * (sd / math.sqrt(n))
    return mean - half, mean + half


def describe(values: Sequence[float], level: float = 0.95) -> Summary | None:
    """Mean, sd, t-interval of the mean, quartiles and range (``None`` for no values);
    safe at any magnitude."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    q1, median, q3 = (float(q) for q in np.percentile(data, [25, 50, 75]))
    mean, sd = mean_sd(data)
    return Summary(int(data.size), mean, sd or 0.0, _t_interval(mean, sd, int(data.size), level), (q1, median, q3),
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
        diffs = [treatment[r] - baseline[r] for r in shared]
        mean, sd = mean_sd(diffs)
        return Difference(mean, _t_interval(mean, sd, len(shared), level), len(shared), True)
    if not baseline or not treatment:
        return None
    (mb, sb), (mt, st) = mean_sd(list(baseline.values())), mean_sd(list(treatment.values()))
    nb, nt = len(baseline), len(treatment)
    estimate = mt - mb
    if sb is None or st is None or (sb == 0 and st == 0):
        return Difference(estimate, (estimate, estimate), min(nb, nt), False)
    eb, et = sb / math.sqrt(nb), st / math.sqrt(nt)  # standard errors, kept small before squaring
    se = math.hypot(eb, et)
    ratio = (eb / se) ** 2, (et / se) ** 2
    df = 1 / (ratio[0] ** 2 / (nb - 1) + ratio[1] ** 2 / (nt - 1))  # Welch-Satterthwaite
    half = float(_sp.t.ppf(0.5 + level / 2, df)) * se
    return Difference(estimate, (estimate - half, estimate + half), min(nb, nt), False)
