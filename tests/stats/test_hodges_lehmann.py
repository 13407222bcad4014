"""Hodges-Lehmann shifts: materialised and bisection order statistics agree."""

from __future__ import annotations

import numpy as np
import pytest

from crystallize.stats import _hodges_lehmann as hl


@pytest.mark.parametrize("func", [hl.shift_interval, hl.paired_shift_interval])
def test_bisection_matches_materialised(func, monkeypatch):
    rng = np.random.default_rng(7)
    b, t = rng.normal(size=150), rng.normal(0.4, size=150)
    est, ci = func(b, t, 0.95)
    monkeypatch.setattr(hl, "MATERIALISE_LIMIT", 0)
    est2, ci2 = func(b, t, 0.95)
    assert est2 == pytest.approx(est, abs=1e-12)
    assert ci2.as_tuple() == pytest.approx(ci.as_tuple(), abs=1e-12)


def test_estimates_are_medians():
    rng = np.random.default_rng(8)
    b, t = rng.normal(size=9), rng.normal(size=12)
    est, _ = hl.shift_interval(b, t, 0.95)
    assert est == pytest.approx(np.median(np.subtract.outer(t, b)))
    d = t[:9] - b
    i, j = np.triu_indices(9)
    est, _ = hl.paired_shift_interval(b, t[:9], 0.95)
    assert est == pytest.approx(np.median((d[i] + d[j]) / 2))


def test_interval_widens_with_level():
    rng = np.random.default_rng(9)
    b, t = rng.normal(size=30), rng.normal(size=30)
    widths = [np.diff(hl.shift_interval(b, t, lv)[1].as_tuple())[0] for lv in (0.8, 0.95, 0.999)]
    assert widths == sorted(widths)
