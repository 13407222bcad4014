"""The sequential paired t-test: reference values, closed forms against integrals, calibration.

Calibration runs thousands of simulated experiments with looks every 5 replicates up
to 200, vectorised over paths; seeds are fixed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from crystallize.stats import anytime_pvalues, sequential_plan, t_confidence_sequence, t_eprocess
from crystallize.stats._sequential import _paths_log_e, cs_half_width, prior_scale_for

LN20 = math.log(20)


def _with_t(t: float, n: int) -> np.ndarray:
    """n differences whose t statistic is exactly ``t`` (sd 1)."""
    z = np.random.default_rng(n).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return z + t / math.sqrt(n)


@pytest.mark.parametrize(("t", "n", "c", "two_sided", "greater"), [
    (2.0, 5, 0.5, 0.408091, 0.982363), (3.1, 12, 0.8, 2.111374, 2.797873)])
def test_reference_values(t, n, c, two_sided, greater):
    d = _with_t(t, n)
    assert t_eprocess(d, alternative="two-sided", prior_scale=c)[-1] == pytest.approx(two_sided, abs=1e-6)
    assert t_eprocess(d, alternative="greater", prior_scale=c)[-1] == pytest.approx(greater, abs=1e-6)
    assert t_eprocess(-d, alternative="less", prior_scale=c)[-1] == pytest.approx(greater, abs=1e-6)


def test_confidence_sequence_half_width_reference_values():
    assert cs_half_width(1.0, 10, 0.5, 0.05) == pytest.approx(1.527163, abs=1e-6)
    assert math.isinf(cs_half_width(1.0, 6, 0.5, 0.05))


@pytest.mark.parametrize(("t", "n", "c"), [(2.0, 5, 0.5), (-0.7, 9, 0.5), (3.1, 12, 0.8)])
def test_one_sided_closed_form_is_the_integral_over_the_half_normal_prior(t, n, c):
    # E+ = int_0^inf [nct.pdf(t; n-1, delta sqrt(n)) / t.pdf(t; n-1)] 2 norm.pdf(delta; 0, c) d delta
    def integrand(delta: float) -> float:
        ratio = stats.nct.pdf(t, n - 1, delta * math.sqrt(n)) / stats.t.pdf(t, n - 1)
        return ratio * 2 * stats.norm.pdf(delta, 0, c)

    value, _ = integrate.quad(integrand, 0, np.inf)
    assert t_eprocess(_with_t(t, n), prior_scale=c)[-1] == pytest.approx(math.log(value), abs=1e-6)


def test_degenerate_inputs_are_defined():
    assert t_eprocess([0.5]).tolist() == [0.0]
    constant = t_eprocess([0.5] * 8)
    assert np.isfinite(constant).all() and constant[-1] > LN20
    zeros = t_eprocess([0.0] * 5)  # t = 0: no evidence either way, never NaN
    assert np.isfinite(zeros).all() and (zeros <= 0).all()
    lo, hi = t_confidence_sequence([0.2] * 12)
    assert lo[-1] == pytest.approx(0.2) and hi[-1] == pytest.approx(0.2)


def test_no_rejection_before_the_bound_allows_it():
    # even infinitely strong evidence (t = inf) cannot reach 1/alpha before 7 replicates at c = 0.5
    earliest = [n for n in range(2, 20) if t_eprocess([1.0] * n)[-1] >= LN20][0]
    assert earliest == 7


def test_scaling_the_metric_changes_nothing():
    d = np.random.default_rng(3).normal(0.3, 1, 60)
    for k in (1e-6, 3.0, 1e6):
        assert t_eprocess(d * k) == pytest.approx(t_eprocess(d), rel=1e-9)


def test_anytime_p_never_increases():
    log_e = t_eprocess(np.random.default_rng(4).normal(0.1, 1, 200))
    p = anytime_pvalues(log_e)
    assert (np.diff(p) <= 0).all() and p[0] == 1.0


def test_prior_scale_for_an_expected_count():
    k = 2 * math.log(20)
    assert prior_scale_for(30) == pytest.approx(math.sqrt((k + math.log(1 + k)) / 30))


# -- calibration: looks every 5 replicates up to 200 --------------------------------------------

LOOKS = np.arange(5, 201, 5) - 1  # indices of the looks


def _null_paths(sims: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, size=(sims, 200))


def test_false_positives_stay_below_alpha_however_often_one_looks():
    x = _null_paths(4000, 1)
    ever = (_paths_log_e(x, 0.5, "greater")[:, LOOKS] >= LN20).any(axis=1).mean()
    assert ever <= 0.05  # expected about 0.023


def test_the_harness_detects_peeking_with_a_fixed_n_test():
    x = _null_paths(2000, 2)
    n = LOOKS + 1
    mean = np.cumsum(x, axis=1)[:, LOOKS] / n
    sd = np.sqrt((np.cumsum(x**2, axis=1)[:, LOOKS] - n * mean**2) / (n - 1))
    p = stats.t.sf(np.abs(np.sqrt(n) * mean / sd), n - 1) * 2  # a naive two-sided paired t at every look
    assert (p < 0.05).any(axis=1).mean() >= 0.20


def test_the_confidence_sequence_covers_at_every_look():
    rng = np.random.default_rng(3)
    sims, covered = 2000, 0
    for _ in range(sims):
        d = rng.normal(0.7, 2.0, 200)
        lo, hi = t_confidence_sequence(d)
        covered += bool(((lo[LOOKS] <= 0.7) & (0.7 <= hi[LOOKS])).all())
    assert covered / sims >= 0.95


def test_power_and_stopping_count_for_half_a_standard_deviation():
    x = np.random.default_rng(4).normal(0.5, 1.0, size=(4000, 200))
    crossed = _paths_log_e(x, 0.5, "greater")[:, LOOKS] >= LN20
    accepted = crossed.any(axis=1)
    stop = np.where(accepted, (LOOKS + 1)[np.argmax(crossed, axis=1)], 200)
    assert accepted.mean() >= 0.97 and stop.mean() <= 42


def test_sequential_plan_agrees_with_statsmodels_for_the_fixed_design():
    from statsmodels.stats.power import TTestPower

    plan = sequential_plan(0.5, 1.0, power=0.8)
    # statsmodels TTestPower().solve_power(0.5, alpha=0.05, power=0.8, alternative="larger")
    fixed = TTestPower().solve_power(0.5, alpha=0.05, power=0.8, alternative="larger")
    assert abs(plan.fixed_replicates - fixed) <= 1
    assert plan.max_replicates > plan.fixed_replicates > plan.median_replicates * 0.5
    assert plan.expected_replicates <= plan.max_replicates


def _running_cs(x: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The confidence sequence of every path (row) after each replicate, as t_confidence_sequence computes it."""
    n = np.arange(1, x.shape[1] + 1)
    mean = np.cumsum(x, axis=1) / n
    sd = np.sqrt(np.maximum(np.cumsum(x**2, axis=1) - n * mean**2, 0.0) / np.maximum(n - 1, 1))
    half = cs_half_width(sd, n, 0.5, alpha)
    lower = np.where(n >= 2, mean - half, -np.inf)
    upper = np.where(n >= 2, mean + half, np.inf)
    return np.maximum.accumulate(lower, axis=1), np.minimum.accumulate(upper, axis=1)


def test_futility_stops_a_null_comparison_early_on_average():
    # min_effect = 0.5 sd under the null, futility at alpha 0.10, looks every 5 up to 200
    x = np.random.default_rng(6).normal(0.0, 1.0, size=(2000, 200))
    accept = _paths_log_e(x, 0.5, "greater")[:, LOOKS] >= LN20
    futile = _running_cs(x, 0.10)[1][:, LOOKS] < 0.5
    stopped = accept | futile
    stop = np.where(stopped.any(axis=1), (LOOKS + 1)[np.argmax(stopped, axis=1)], 200)
    assert stop.mean() <= 45
    assert accept.any(axis=1).mean() <= 0.05  # futility changes nothing about false positives


def test_holm_on_anytime_p_values_controls_the_family_wise_error():
    # 3 treatments x 2 metrics, all null; treatments share the baseline, so their differences correlate
    from crystallize.stats import adjust_pvalues

    rng = np.random.default_rng(7)
    sims, hits = 1000, 0
    for _ in range(sims):
        baseline = rng.normal(size=(2, 200))
        diffs = [rng.normal(size=200) - baseline[m] for m in range(2) for _ in range(3)]
        log_e = np.stack([t_eprocess(d, alternative="greater")[LOOKS] for d in diffs])
        p = np.minimum(1.0, np.exp(-np.maximum.accumulate(np.maximum(log_e, 0.0), axis=1)))
        hits += any((adjust_pvalues(p[:, k], method="holm") < 0.05).any() for k in range(len(LOOKS)))
    assert hits / sims <= 0.05
