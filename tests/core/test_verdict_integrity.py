"""Verdicts that cannot mislead: one regression test per finding of the verdict review.

Each test is built from the recipe that showed the problem; every one of them failed
before the fix.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from scipy import stats

from crystallize import (
    DesignWarning,
    Experiment,
    Hypothesis,
    PipelineStep,
    StatisticalTest,
    Treatment,
)
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.stat_test import (
    MannWhitneyU,
    PairedTTest,
    PermutationTest,
    WelchTTest,
    WilcoxonSignedRank,
)

from .conftest import NoiseSource


def _quiet(hypothesis: Hypothesis, b: Sequence[float], t: Sequence[float], **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hypothesis.evaluate(b, t, **kwargs)


# -- 1. rank tests take their direction from their own estimand ---------------------------------

def test_outliers_do_not_turn_a_rank_decrease_into_an_accepted_increase():
    rng = np.random.default_rng(0)
    b = rng.normal(0, 1, 40)
    t = b - 0.8
    t[:4] = 60.0  # outliers: the mean goes up, the typical value goes down
    verdict = _quiet(Hypothesis("m", WilcoxonSignedRank(), direction="increase"), b, t)
    assert verdict.p_value < 0.01 and verdict.effect_size < -0.5
    assert verdict.estimate < 0 and verdict.estimand == "pseudo_median"
    assert not verdict.accepted and verdict.label == "opposite direction"
    assert t.mean() > b.mean()  # the old rule (sign of the mean difference) said "accepted"


@pytest.mark.parametrize("test", [WilcoxonSignedRank(), MannWhitneyU()])
def test_diverged_runs_do_not_hide_a_rank_increase(test):
    rng = np.random.default_rng(1)
    b = rng.normal(0.9, 0.01, 40)
    t = b + 0.012
    t[:6] = 0.1  # 6 of 40 runs diverged
    verdict = _quiet(Hypothesis("acc", test, direction="increase"), b, t)
    assert verdict.significant and verdict.estimate > 0
    assert verdict.accepted and verdict.label == "accepted"
    assert t.mean() < b.mean()  # the old rule said "opposite direction"


def test_a_one_sided_test_is_never_opposite_direction():
    rng = np.random.default_rng(1)
    b = rng.normal(0.9, 0.01, 40)
    t = b + 0.012
    t[:6] = 0.1
    verdict = _quiet(Hypothesis("acc", MannWhitneyU(alternative="greater"), direction="increase"), b, t)
    assert verdict.accepted and verdict.direction_matches and verdict.alternative == "greater"


# -- 2. zero-variance paired differences ---------------------------------------------------------

def test_three_equal_paired_differences_are_not_significant():
    b = np.array([180.0, 171.0, 190.0]) / 200  # accuracies on a fixed test set of 200
    verdict = _quiet(Hypothesis("acc", PairedTTest(), direction="increase"), b, b + 1 / 200)
    # the exact sign-flip p: the observed pattern is the most extreme of 2**3
    assert verdict.p_value == 2 / 2**3 and not verdict.accepted
    assert any("exact permutation" in n for n in verdict.notes)


# -- 3. no_worse needs the better direction ------------------------------------------------------

def test_no_worse_without_higher_is_better_is_refused():
    with pytest.raises(ExperimentDefinitionError, match=r"higher_is_better=True .* or higher_is_better=False"):
        Hypothesis("log_loss", direction="no_worse", margin=0.05)


def test_a_doubled_loss_is_not_no_worse():
    rng = np.random.default_rng(3)
    b = rng.normal(0.42, 0.02, 10)
    t = b + 0.5  # 0.42 -> 0.92
    verdict = _quiet(Hypothesis("log_loss", direction="no_worse", margin=0.05, higher_is_better=False), b, t)
    assert not verdict.accepted and verdict.p_value > 0.5


# -- 4. result.metrics stays aligned by replicate ------------------------------------------------

class _Lossy(PipelineStep):
    """One failure on each side, at different replicates; a strong paired effect."""

    def __call__(self, data: Any, ctx: Any) -> Mapping[str, float]:
        if (ctx["condition"], ctx["replicate"]) in {("baseline", 2), ("t", 5)}:
            raise RuntimeError("lost")
        level = 10.0 * ctx["replicate"]
        return {"score": level + (1.0 + 0.01 * ctx["replicate"] ** 2 if ctx["condition"] == "t" else 0.0)}


def test_failed_runs_keep_their_place_in_the_sample_lists():
    exp = Experiment(NoiseSource(), [_Lossy()], [Treatment("t", {"u": 1})], Hypothesis("score"),
                     replicates=8, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = exp.run(store=False)
    base, treat = result.metrics["baseline"]["score"], result.metrics["t"]["score"]
    assert len(base) == len(treat) == 8
    assert math.isnan(base[2]) and math.isnan(treat[5])
    pairs = result.paired_samples("score", "t")
    assert pairs.replicates == (0, 1, 3, 4, 6, 7)
    # a user's own paired test on the clean pairs agrees with the verdict
    # reference: scipy.stats.ttest_rel(treatment, baseline)
    assert result.hypotheses[0].p_value == pytest.approx(stats.ttest_rel(pairs.treatment, pairs.baseline).pvalue)
    # ... and so does the mapping contract on the aligned lists
    assert Hypothesis("score").verify(result.metrics["baseline"], result.metrics["t"])["n_pairs"] == 6


# -- 6. relative margins test the right quantity -------------------------------------------------

def test_a_relative_margin_is_tested_as_a_contrast():
    rng = np.random.default_rng(6)
    b = rng.normal(10, 3, 12)
    t = b - 0.3 + rng.normal(0, 0.3, 12)
    verdict = _quiet(Hypothesis("m", direction="no_worse", margin=0.05, margin_relative=True,
                                higher_is_better=True), b, t)
    # reference: scipy.stats.ttest_1samp(t - 0.95 * b, 0, alternative="greater")
    assert verdict.p_value == pytest.approx(stats.ttest_1samp(t - 0.95 * b, 0, alternative="greater").pvalue)
    assert verdict.estimand == "relative_difference" and verdict.margin_relative
    assert verdict.ci[0] < verdict.estimate < verdict.ci[1]


# -- 8, 9, 10. intervals at the level that matches the decision ----------------------------------

@pytest.mark.parametrize(("hypothesis", "level"), [
    (Hypothesis("m", PairedTTest()), 0.95),
    (Hypothesis("m", PairedTTest(alternative="greater"), direction="increase"), 0.90),
    (Hypothesis("m", PairedTTest(), direction="equal", margin=0.5), 0.90),
    (Hypothesis("m", WelchTTest(), direction="no_worse", margin=0.5, higher_is_better=True), 0.90),
    (Hypothesis("m", WelchTTest(), alpha=0.1), 0.90),
])
def test_interval_levels_are_the_ones_computed(hypothesis, level):
    rng = np.random.default_rng(8)
    b = rng.normal(0, 1, 12)
    verdict = _quiet(hypothesis, b, b + rng.normal(0.2, 0.5, 12))
    assert verdict.ci_level == pytest.approx(level)


def test_a_one_sided_interval_agrees_with_the_decision():
    rng = np.random.default_rng(9)
    hypothesis = Hypothesis("m", PairedTTest(alternative="greater"), direction="increase")
    for _ in range(200):
        b = rng.normal(0, 1, 8)
        verdict = _quiet(hypothesis, b, b + rng.normal(0.5, 1, 8))
        assert verdict.accepted == (verdict.ci[0] > 0)  # the lower end is the one-sided 95% bound


def test_simultaneous_intervals_are_bonferroni_over_the_family():
    exp = Experiment(NoiseSource(), [_Shift()], [Treatment("a", {"s": 1.0}), Treatment("b", {"s": 2.0})],
                     Hypothesis("x", WelchTTest()), replicates=6, seed=1, intervals="simultaneous")
    verdicts = exp.run(store=False).hypotheses
    assert all(v.ci_simultaneous and v.ci_level == pytest.approx(1 - 0.05 / 2) for v in verdicts)
    per = Experiment(NoiseSource(), [_Shift()], [Treatment("a", {"s": 1.0}), Treatment("b", {"s": 2.0})],
                     Hypothesis("x", WelchTTest()), replicates=6, seed=1).run(store=False).hypotheses
    assert all(not v.ci_simultaneous and v.ci_level == pytest.approx(0.95) for v in per)
    assert verdicts[0].ci[1] - verdicts[0].ci[0] > per[0].ci[1] - per[0].ci[0]


class _Shift(PipelineStep):
    def __call__(self, data: Any, ctx: Any) -> Mapping[str, float]:
        shift = ctx.get("s", 0.0)
        return {"x": data["rng"] + shift * (1.0 + data["py"]) + 0.3 * data["np"]}


# -- 11. exact rank intervals, or none -----------------------------------------------------------

def test_no_interval_rather_than_a_wrong_one():
    rng = np.random.default_rng(11)
    b = rng.normal(0, 1, 5)
    verdict = _quiet(Hypothesis("m", WilcoxonSignedRank()), b, b + 1)
    assert verdict.ci is None and any("covers 0.9375" in n for n in verdict.notes)


# -- 13. designs that can never be significant ---------------------------------------------------

@pytest.mark.parametrize(("test", "treatments", "replicates", "needed"), [
    (WilcoxonSignedRank(), 1, 5, 6), (PermutationTest(paired=True), 1, 5, 6), (WilcoxonSignedRank(), 3, 6, 7),
])
def test_a_design_that_cannot_reach_alpha_is_warned_before_any_run(test, treatments, replicates, needed):
    ran: list[str] = []

    class Probe:
        def on_run_complete(self, record: Any) -> None:
            ran.append(record.key)

    exp = Experiment(NoiseSource(), [_Shift()], [Treatment(f"t{i}", {"s": 1.0}) for i in range(treatments)],
                     Hypothesis("x", test), replicates=replicates, seed=0)
    with pytest.warns(DesignWarning, match=f"use at least {needed} replicates") as caught:
        exp.run(store=False, callbacks=[Probe()])
    assert ran  # the runs happened after the warning ...
    assert caught[0].filename == __file__  # ... which points at the user's run() call


# -- 15. unpaired tests on a paired design -------------------------------------------------------

def test_an_unpaired_test_on_correlated_replicates_gets_a_note():
    exp = Experiment(NoiseSource(), [_Shift()], [Treatment("a", {"s": 0.05})], Hypothesis("x", WelchTTest()),
                     replicates=20, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        welch = exp.run(store=False).hypotheses[0]
    assert any("correlate" in n and "conservative" in n and "PairedTTest()" in n for n in welch.notes)
    paired = Experiment(NoiseSource(), [_Shift()], [Treatment("a", {"s": 0.05})], Hypothesis("x", PairedTTest()),
                        replicates=20, seed=2).run(store=False).hypotheses[0]
    assert not any("correlate" in n for n in paired.notes)


# -- 18. families ----------------------------------------------------------------------------------

def test_a_guardrail_family_costs_the_primary_hypothesis_nothing():
    hypotheses = [Hypothesis("x", PairedTTest(), direction="increase"),
                  Hypothesis("x", PairedTTest(), name="guard", direction="no_worse", margin=0.5,
                             higher_is_better=True, family="guardrails")]
    exp = Experiment(NoiseSource(), [_Shift()], [Treatment("a", {"s": 0.5})], hypotheses=hypotheses,
                     replicates=8, seed=4)
    primary, guard = exp.run(store=False).hypotheses
    assert primary.p_value_adjusted == primary.p_value and primary.family == "default"
    assert guard.family == "guardrails" and primary.comparisons == guard.comparisons == 1


def test_mixed_alphas_within_a_family_are_refused():
    with pytest.raises(ExperimentDefinitionError, match="same family 'default'.*same alpha"):
        Experiment(NoiseSource(), [_Shift()], [Treatment("a", {"s": 0.5})],
                   hypotheses=[Hypothesis("x"), Hypothesis("x", name="y", alpha=0.1)])
    Experiment(NoiseSource(), [_Shift()], [Treatment("a", {"s": 0.5})],
               hypotheses=[Hypothesis("x"), Hypothesis("x", name="y", alpha=0.1, family="exploratory")])


# -- 19. a test of yours decides when it says so -------------------------------------------------

class _Decides(StatisticalTest):
    def __init__(self, out: dict[str, Any]) -> None:
        super().__init__()
        self.out = out

    def run(self, baseline: Sequence[float], treatment: Sequence[float], *, alpha: float = 0.05
            ) -> Mapping[str, Any]:
        return dict(self.out)


def test_a_returned_significant_is_honoured():
    verdict = _quiet(Hypothesis("m", _Decides({"p_value": 0.01, "significant": False})), [1.0, 2.0], [3.0, 4.0])
    assert not verdict.significant and not verdict.accepted and verdict.decided_by_test


def test_a_test_without_p_value_can_decide():
    verdict = _quiet(Hypothesis("m", _Decides({"significant": True, "bayes_factor": 12.0}), direction="increase"),
                     [1.0, 2.0], [3.0, 4.0])
    assert verdict.accepted and verdict.p_value is None and verdict.details["bayes_factor"] == 12.0
    nothing = _quiet(Hypothesis("m", _Decides({"statistic": 1.0})), [1.0, 2.0], [3.0, 4.0])
    assert nothing.status == "skipped" and "neither a p-value nor a decision" in nothing.notes[-1]


def test_holm_adjusts_only_the_tests_that_leave_the_decision_to_the_framework():
    hypotheses = [Hypothesis("x", _Decides({"p_value": 0.04, "significant": True}), name="own"),
                  Hypothesis("x", _Decides({"p_value": 0.04}), name="framework")]
    exp = Experiment(NoiseSource(), [_Shift()], [Treatment("a", {"s": 0.5}), Treatment("b", {"s": 0.2})],
                     hypotheses=hypotheses, replicates=3, seed=0)
    verdicts = {(v.hypothesis, v.treatment): v for v in exp.run(store=False).hypotheses}
    assert verdicts["own", "a"].accepted and verdicts["own", "a"].p_value_adjusted is None
    assert verdicts["framework", "a"].p_value_adjusted == pytest.approx(0.08)  # Holm over the 2 it decides
    assert not verdicts["framework", "a"].accepted


# -- 20. readable pipeline signatures --------------------------------------------------------------

class AddStep(PipelineStep):
    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, data: Any, ctx: Any) -> Any:
        return data


class MetricsStep(PipelineStep):
    def __call__(self, data: Any, ctx: Any) -> Mapping[str, float]:
        return {"x": 1.0}


def test_the_signature_names_steps_and_params():
    from crystallize import Pipeline

    signature = Pipeline([AddStep(2), MetricsStep()]).signature()
    assert signature.startswith("AddStep(n=2)|MetricsStep -> ")
    assert len(signature.split(" -> ")[1]) == 16
    assert Pipeline([AddStep(3), MetricsStep()]).signature() != signature
