"""Effect sizes against textbook formulas and SciPy's U statistic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from crystallize.stats import cohens_dz, hedges_g, mean_difference, rank_biserial, relative_difference
from crystallize.stats._effect_size import hedges_correction


def test_hedges_g_formula(samples):
    b, t = samples
    nb, nt = b.size, t.size
    sp = math.sqrt(((nb - 1) * b.var(ddof=1) + (nt - 1) * t.var(ddof=1)) / (nb + nt - 2))
    d = (t.mean() - b.mean()) / sp
    df = nb + nt - 2
    j = special.gamma(df / 2) / (math.sqrt(df / 2) * special.gamma((df - 1) / 2))
    assert hedges_g(b, t) == pytest.approx(d * j, rel=1e-12)
    # the usual approximation J ~ 1 - 3 / (4 df - 1) is within 1e-3 of the exact correction
    assert hedges_g(b, t) == pytest.approx(d * (1 - 3 / (4 * df - 1)), rel=1e-3)


def test_hedges_correction_limits():
    assert hedges_correction(1000) == pytest.approx(1.0, abs=1e-3)
    assert hedges_correction(2) == pytest.approx(0.5642, abs=1e-4)  # Hedges (1981), table 2
    with pytest.raises(ValueError, match=r"`df` must be > 1, got 1"):
        hedges_correction(1)


def test_cohens_dz_formula(paired_samples):
    b, t = paired_samples
    d = t - b
    assert cohens_dz(b, t) == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)


def test_rank_biserial_matches_u(samples):
    b, t = samples
    u = stats.mannwhitneyu(t, b).statistic  # scipy.stats.mannwhitneyu(treatment, baseline).statistic
    assert rank_biserial(b, t) == pytest.approx(2 * u / (b.size * t.size) - 1, rel=1e-12)
    assert rank_biserial(t, b) == pytest.approx(-rank_biserial(b, t))


def test_rank_biserial_paired_matches_signed_ranks(paired_samples):
    b, t = paired_samples
    d = t - b
    d = d[d != 0]
    r_plus = stats.wilcoxon(d, alternative="greater").statistic  # scipy: R+ for one-sided
    total = d.size * (d.size + 1) / 2
    assert rank_biserial(b, t, paired=True) == pytest.approx((r_plus - (total - r_plus)) / total)


def test_differences():
    assert mean_difference([1.0, 3.0], [4.0, 6.0]) == 3.0
    assert relative_difference([4.0, 4.0], [5.0, 5.0]) == 0.25
    assert relative_difference([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert relative_difference([-1.0, 1.0], [1.0, 2.0]) == math.inf


def test_degenerate_effects_are_never_nan():
    assert hedges_g([0.1] * 5, [0.1] * 5) == 0.0
    assert hedges_g([0.1] * 5, [0.3] * 5) == math.inf
    assert hedges_g([0.3] * 5, [0.1] * 5) == -math.inf
    assert cohens_dz([1.0, 2.0], [1.5, 2.5]) == math.inf
    assert rank_biserial([1.0, 2.0], [1.0, 2.0], paired=True) == 0.0
    assert not np.isnan(rank_biserial([1.0] * 3, [1.0] * 3))
