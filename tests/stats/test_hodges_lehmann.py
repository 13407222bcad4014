"""Hodges-Lehmann shifts: materialised and bisection order statistics agree."""

from __future__ import annotations

import numpy as np
import pytest

from scipy import stats

from crystallize.stats import _hodges_lehmann as hl
from crystallize.stats import wilcoxon_signed_rank


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


# -- exact intervals: inverting SciPy's exact rank tests -------------------------------------

def _inside(p_value: float, level: float) -> bool:
    return p_value > 1 - level


@pytest.mark.parametrize("n", [6, 7, 9, 12])
def test_exact_signed_rank_interval_inverts_scipys_exact_test(n):
    rng = np.random.default_rng(n)
    b, t = rng.normal(size=n), rng.normal(0.3, size=n)
    d = t - b
    _, ci = hl.paired_shift_interval(b, t, 0.95)
    width = ci.high - ci.low
    for theta, inside in ((ci.low + 1e-9 * width, True), (ci.high - 1e-9 * width, True),
                          (ci.low - 1e-6 * width, False), (ci.high + 1e-6 * width, False)):
        # scipy.stats.wilcoxon(d - theta, method="exact"): theta is in the interval iff p > 0.05
        p = stats.wilcoxon(d - theta, method="exact").pvalue
        assert _inside(p, 0.95) == inside, (theta, p)


@pytest.mark.parametrize(("nb", "nt"), [(4, 5), (6, 6), (8, 20)])
def test_exact_rank_sum_interval_inverts_scipys_exact_test(nb, nt):
    rng = np.random.default_rng(nb * 100 + nt)
    b, t = rng.normal(size=nb), rng.normal(0.5, size=nt)
    _, ci = hl.shift_interval(b, t, 0.95)
    width = ci.high - ci.low
    for theta, inside in ((ci.low + 1e-9 * width, True), (ci.high - 1e-9 * width, True),
                          (ci.low - 1e-6 * width, False), (ci.high + 1e-6 * width, False)):
        # scipy.stats.mannwhitneyu(t - theta, b, method="exact")
        p = stats.mannwhitneyu(t - theta, b, method="exact").pvalue
        assert _inside(p, 0.95) == inside, (theta, p)


@pytest.mark.parametrize(("n", "coverage"), [(3, 0.75), (4, 0.875), (5, 0.9375)])
def test_no_95_percent_signed_rank_interval_below_six_pairs(n, coverage):
    rng = np.random.default_rng(n)
    b, t = rng.normal(size=n), rng.normal(size=n)
    estimate, ci = hl.paired_shift_interval(b, t, 0.95)
    assert ci is None and np.isfinite(estimate)
    assert hl.attainable_coverage(n, n, paired=True) == coverage  # 1 - 2 / 2**n
    res = wilcoxon_signed_rank(b, t)
    assert res.ci is None
    assert any(f"covers {coverage:.4g}" in note and "no interval is reported" in note for note in res.notes)


def test_exact_interval_coverage_by_simulation():
    # 6 pairs: the exact 95% interval is [min, max] of the Walsh averages, covering 1 - 2/64 = 0.96875
    rng = np.random.default_rng(11)
    sims, hits = 4000, 0
    for _ in range(sims):
        d = rng.standard_t(3, size=6)
        _, ci = hl.paired_shift_interval(np.zeros(6), d, 0.95)
        hits += ci.low <= 0.0 <= ci.high
    low, high = stats.binom.interval(0.999, sims, 0.96875)
    assert low <= hits <= high


def test_large_samples_use_the_normal_approximation():
    rng = np.random.default_rng(3)
    b, t = rng.normal(size=60), rng.normal(size=60)
    _, exact_free = hl.paired_shift_interval(b, t, 0.95)
    assert exact_free is not None and hl.attainable_coverage(60, 60, paired=True) is None
