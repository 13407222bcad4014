"""Result.power_analysis: the effect of interest is an input, alpha is the family's, and
equivalence and non-inferiority verdicts are planned with their own tests."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from statsmodels.stats.power import TTestIndPower, TTestPower

from crystallize import Experiment, Hypothesis, Pipeline, Result, Treatment, data_source, pipeline_step
from crystallize.core.stat_test import PairedTTest, WelchTTest, WilcoxonSignedRank
from crystallize.stats import required_replicates_tost, tost_power


@data_source
def noisy(ctx, *, shift=0.0):
    return ctx.rng.normal(10.0 + shift, 1.0 + 5 * abs(shift), 4)


@pipeline_step
def measure(data):
    return {"score": float(data.mean()), "loss": float(data.std())}


def _run(hypotheses, treatments=("up", "down"), correction="holm", replicates=10) -> Result:
    shifts = {"up": 0.3, "down": -0.1, "same": 0.0}
    experiment = Experiment(datasource=noisy(), pipeline=Pipeline([measure()]),
                            treatments=[Treatment(t, {"shift": shifts[t]}) for t in treatments],
                            hypotheses=hypotheses, replicates=replicates, seed=5, correction=correction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return experiment.run(store=False, progress=False)


def test_no_effect_is_refused_with_the_reason():
    # it used the observed effect ("post-hoc power") when none was given
    result = _run([Hypothesis("score", PairedTTest(), direction="increase")])
    with pytest.raises(ValueError, match=r"needs the effect you want to detect, got no effect: pass effect_size= .*"
                                         r"'post-hoc power'"):
        result.power_analysis()
    with pytest.raises(ValueError, match="got both effect_size= and difference="):
        result.power_analysis(0.5, difference=0.1)
    with pytest.raises(ValueError, match=r"needs finite numbers, got nan"):
        result.power_analysis(difference=math.nan)


def test_alpha_is_the_familys_and_only_the_hypothesised_tail_counts():
    result = _run([Hypothesis("score", PairedTTest(), direction="increase"),
                   Hypothesis("loss", WelchTTest(), family="spread")])
    rows = result.power_analysis(effect_size=0.8)
    score, spread = rows[0], rows[2]
    # "increase" by a two-sided paired t, 2 comparisons under Holm: first step alpha 0.05 / 2, and only the
    # upper tail is accepted: ceil(TTestPower().solve_power(0.8, alpha=0.0125, power=0.8, alternative="larger"))
    assert score["alpha"] == 0.025
    assert score["replicates_required"] == math.ceil(
        TTestPower().solve_power(0.8, alpha=0.0125, power=0.8, alternative="larger"))
    assert score["power_at_replicates_used"] == pytest.approx(
        TTestPower().power(0.8, 10, 0.0125, alternative="larger"), rel=1e-9)
    # the "spread" family: its own 2 comparisons, any direction, both tails
    assert spread["alpha"] == 0.025
    assert spread["replicates_required"] == math.ceil(
        TTestIndPower().solve_power(0.8, alpha=0.025, power=0.8, alternative="two-sided"))
    unadjusted = _run([Hypothesis("score", PairedTTest(), direction="increase")], correction=None)
    assert unadjusted.power_analysis(effect_size=0.8)[0]["alpha"] == 0.05


def test_a_raw_difference_is_standardised_by_the_observed_sd():
    result = _run([Hypothesis("score", PairedTTest(), direction="increase"),
                   Hypothesis("score", WelchTTest(), name="unpaired", direction="increase")], treatments=("up",))
    paired, unpaired = result.power_analysis(difference=0.25)
    pairs = result.paired_samples("score", "up")
    sd_pairs = float(np.std(np.subtract(pairs.treatment, pairs.baseline), ddof=1))
    assert paired["sd"] == pytest.approx(sd_pairs, rel=1e-12)
    assert paired["effect_size"] == pytest.approx(0.25 / sd_pairs) and paired["difference"] == 0.25
    b, t = np.array(result.metrics["baseline"]["score"]), np.array(result.metrics["up"]["score"])
    pooled = math.sqrt((b.var(ddof=1) + t.var(ddof=1)) / 2)
    assert unpaired["sd"] == pytest.approx(pooled, rel=1e-12)
    assert unpaired["replicates_required"] == math.ceil(
        TTestIndPower().solve_power(0.25 / pooled, alpha=0.0125, power=0.8, alternative="larger"))


def test_equivalence_and_non_inferiority_are_planned_with_their_own_tests():
    result = _run([Hypothesis("score", direction="equal", margin=0.15, name="eq"),
                   Hypothesis("score", direction="no_worse", margin=0.1, higher_is_better=True, name="ni",
                              family="guard")], treatments=("down",))
    eq, ni = result.power_analysis(effect_size=0.0)
    pairs = result.paired_samples("score", "down")
    sd = float(np.std(np.subtract(pairs.treatment, pairs.baseline), ddof=1))
    assert eq["sd"] == pytest.approx(sd, rel=1e-12) and eq["alpha"] == 0.05
    assert eq["replicates_required"] == required_replicates_tost(0.0, low=-0.15 / sd, high=0.15 / sd, paired=True)
    assert eq["power_at_replicates_used"] == pytest.approx(tost_power(0.0, 10, low=-0.15 / sd, high=0.15 / sd,
                                                                      paired=True))
    assert "two one-sided" in eq["method"]
    # non-inferiority: the one-sided t-test at the effect shifted by the margin,
    # ceil(TTestPower().solve_power(0 + 0.4 / sd, alpha=0.05, power=0.8, alternative="larger"))
    assert ni["replicates_required"] == max(2, math.ceil(
        TTestPower().solve_power(0.1 / sd, alpha=0.05, power=0.8, alternative="larger")))
    # a true loss beyond the margin cannot be shown non-inferior: said, not raised
    rows = result.power_analysis(difference={"eq": 0.0, "ni": -0.5})
    assert rows[1]["replicates_required"] is None and "non-inferiority cannot be shown" in rows[1]["note"]


def test_per_hypothesis_effects_and_rank_tests():
    result = _run([Hypothesis("score", PairedTTest(), direction="increase"),
                   Hypothesis("score", WilcoxonSignedRank(), name="rank", direction="increase")],
                  treatments=("up",))
    t_row, rank_row = result.power_analysis(effect_size={"score": 0.6, "rank": 0.6})
    assert rank_row["replicates_required"] == math.ceil(t_row["replicates_required"] * math.pi / 3)
    (only, missing) = result.power_analysis(effect_size={"score": 0.6})
    assert only["replicates_required"] == t_row["replicates_required"]
    assert missing["replicates_required"] is None and missing["note"] == "no effect_size given for hypothesis 'rank'"
    # a huge effect still needs the replicates whose smallest p-value can pass alpha / 2 (two-sided, 2 comparisons)
    assert result.power_analysis(effect_size=50.0)[1]["replicates_required"] == 7  # 2 / 2**7 < 0.025
