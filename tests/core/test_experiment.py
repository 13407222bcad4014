from __future__ import annotations

import math

import random

import numpy as np
import pytest

from crystallize import (
    ContextMutationError,
    DataSource,
    Experiment,
    ExperimentDefinitionError,
    Hypothesis,
    MissingMetricError,
    Pipeline,
    PipelineStep,
    RunFailedError,
    Treatment,
)
from crystallize.core.plan import replicate_seed
from crystallize.core.stat_test import WelchTTest

from .conftest import NoiseSource, Score, make_experiment


def test_design_contract_example_runs_as_written():
    class Data(DataSource):
        def fetch(self, ctx):
            return [random.random() for _ in range(10)]

    class Train(PipelineStep):
        def __call__(self, data, ctx):
            lr = ctx.get("learning_rate", 0.001)
            return {"accuracy": float(np.mean(data)) + 20 * lr}

    datasource = Data()
    experiment = Experiment(
        datasource=datasource,             # DataSource: fetch(ctx) -> data
        pipeline=Pipeline(steps=[Train()]),    # steps: step(data, ctx) -> data; the last returns a metrics mapping
        treatments=[Treatment(name="high_lr", apply_fn=lambda ctx: ctx.__setitem__("learning_rate", 0.01))],
        hypothesis=Hypothesis(metric="accuracy", direction="increase", statistical_test=WelchTTest()),
        replicates=5,
    )
    result = experiment.run()
    assert len(result.metrics["baseline"]["accuracy"]) == 5    # list of 5 samples, replicate order
    assert len(result.metrics["high_lr"]["accuracy"]) == 5     # list of 5 samples
    verdict = result.metrics["hypothesis"]                     # {"p_value": ..., "significant": ..., "accepted": ...}
    assert {"p_value", "significant", "accepted"} <= set(verdict)
    # common random numbers: the treatment adds exactly 20 * (0.01 - 0.001) to every replicate
    diffs = np.subtract(result.metrics["high_lr"]["accuracy"], result.metrics["baseline"]["accuracy"])
    np.testing.assert_allclose(diffs, 0.18)


def test_same_seed_same_samples_other_seed_other_samples():
    a = make_experiment(seed=1).run(store=False).metrics
    b = make_experiment(seed=1).run(store=False).metrics
    c = make_experiment(seed=2).run(store=False).metrics
    assert a["baseline"]["score"] == b["baseline"]["score"]
    assert a["shifted"]["score"] == b["shifted"]["score"]
    assert a["baseline"]["score"] != c["baseline"]["score"]


def test_every_generator_is_seeded_and_conditions_share_the_replicate_seed():
    result = make_experiment(replicates=4, seed=11).run(store=False)
    for record in result.records:
        expected = replicate_seed(11, record.replicate)
        assert record.seed == expected
        random.seed(expected)
        np.random.seed(expected)
        rng = np.random.default_rng(expected)
        want = random.random() + float(np.random.random()) + float(rng.random())
        shift = 1.0 if record.condition == "shifted" else 0.0
        assert record.metrics["score"] == pytest.approx(want + shift, abs=1e-12)
    seeds = {(r.condition, r.replicate): r.seed for r in result.records}
    assert all(seeds["baseline", i] == seeds["shifted", i] for i in range(4))
    assert len({seeds["baseline", i] for i in range(4)}) == 4


def test_seeds_follow_seed_sequence_spawn():
    children = np.random.SeedSequence(99).spawn(5)
    for i, child in enumerate(children):
        assert replicate_seed(99, i) == int(child.generate_state(1, dtype=np.uint32)[0])


def test_context_holds_reserved_keys():
    seen = []

    class Look(PipelineStep):
        def __call__(self, data, ctx):
            seen.append((ctx["condition"], ctx["replicate"], ctx["seed"]))
            return {"x": 1.0}

    Experiment(NoiseSource(), [Look()], [Treatment("t", {"a": 1})], replicates=2, seed=3).run(store=False)
    assert sorted(seen) == sorted((c, r, replicate_seed(3, r)) for c in ("baseline", "t") for r in range(2))


def test_failed_runs_are_recorded_and_the_others_go_on():
    class Flaky(PipelineStep):
        def __call__(self, data, ctx):
            if ctx["condition"] == "shifted" and ctx["replicate"] == 1:
                raise ValueError("bad replicate")
            return {"score": ctx["replicate"] + ctx.get("shift", 0.0)}

    exp = Experiment(NoiseSource(), [Flaky()], [Treatment("shifted", {"shift": 1.0})],
                     Hypothesis("score", WelchTTest(), direction="increase"), replicates=4, seed=0)
    result = exp.run(store=False)
    assert list(result.errors) == ["shifted/1"]
    error = result.errors["shifted/1"]
    assert error.type == "ValueError" and error.message == "bad replicate" and error.step == "Flaky"
    assert "Traceback" in error.traceback and "bad replicate" in error.traceback
    # one entry per replicate, nan where the run failed: the lists stay aligned by replicate
    assert result.metrics["shifted"]["score"] == [1.0, math.nan, 3.0, 4.0]
    assert result.metrics["baseline"]["score"] == [0.0, 1.0, 2.0, 3.0]
    verdict = result.hypotheses[0]
    assert verdict.failed_treatment == 1 and verdict.n_treatment == 3
    # 1 of 4 against 0 of 4 is well within chance (Fisher's exact test p = 1): no imbalance note
    assert not any("failure rates differ" in note for note in verdict.notes)


def test_data_source_failure_names_the_source():
    class Broken(DataSource):
        def fetch(self, ctx):
            raise OSError("disk gone")

    result = Experiment(Broken(), [Score()], replicates=2, seed=0).run(store=False)
    assert {e.step for e in result.errors.values()} == {"datasource"}


def test_fail_fast_stops_at_the_first_error_and_keeps_the_partial_result():
    class Fail(PipelineStep):
        def __call__(self, data, ctx):
            if ctx["replicate"] == 2:
                raise RuntimeError("stop here")
            return {"score": 1.0}

    exp = Experiment(NoiseSource(), [Fail()], replicates=5, seed=0)
    with pytest.raises(RunFailedError, match="stop here") as info:
        exp.run(store=False, fail_fast=True)
    assert len(info.value.result.records) == 3  # replicates 0, 1 and the failed run


def test_too_few_samples_gives_insufficient_data_not_a_crash():
    class FailMost(PipelineStep):
        def __call__(self, data, ctx):
            if ctx["replicate"] > 0:
                raise RuntimeError("fail")
            return {"score": 1.0}

    exp = Experiment(NoiseSource(), [FailMost()], [Treatment("t", {"a": 1})],
                     Hypothesis("score", WelchTTest()), replicates=3, seed=0)
    with pytest.warns(Warning, match="insufficient data"):
        verdict = exp.run(store=False).hypotheses[0]
    assert verdict.status == "insufficient data" and verdict.p_value is None
    assert not verdict.accepted and not verdict.significant


def test_hypothesis_on_a_missing_metric_names_what_exists():
    exp = make_experiment(hypotheses=[Hypothesis("acuracy", WelchTTest())])
    with pytest.raises(MissingMetricError) as info:
        exp.run(store=False)
    message = str(info.value)
    assert "'acuracy'" in message and "'score'" in message and "'label'" in message
    assert info.value.result is not None and len(info.value.result.records) == 1  # stopped after the first run


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"replicates": 0}, ExperimentDefinitionError, "replicates must be a whole number >= 1, or Sequential(max=...), got 0"),
        ({"replicates": 2.5}, ExperimentDefinitionError, "replicates must be a whole number >= 1"),
        ({"seed": -1}, ExperimentDefinitionError, "seed must be a non-negative int"),
        ({"correction": "sidak"}, ExperimentDefinitionError, "correction='sidak' is not valid"),
        ({"treatments": [Treatment("a", {"x": 1}), Treatment("a", {"x": 2})]}, ExperimentDefinitionError,
         "two treatments are named 'a'"),
        ({"treatments": [Treatment("baseline", {"x": 1})]}, ExperimentDefinitionError,
         "treatment name 'baseline' is reserved"),
        ({"treatments": [Treatment("hypothesis", {"x": 1})]}, ExperimentDefinitionError,
         "treatment name 'hypothesis' is reserved"),
        ({"hypotheses": [Hypothesis("score", WelchTTest()), Hypothesis("score", WelchTTest())]},
         ExperimentDefinitionError, "two hypotheses are named 'score'"),
    ],
)
def test_bad_definitions_are_refused_with_a_clear_message(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_experiment(**kwargs)


@pytest.mark.parametrize("key", ["seed", "replicate", "condition"])
def test_treatment_rewriting_a_reserved_key_is_refused_before_any_run(key):
    ran = []

    class Spy(PipelineStep):
        def __call__(self, data, ctx):
            ran.append(1)
            return {"score": 1.0}

    with pytest.raises(ContextMutationError) as info:
        Experiment(NoiseSource(), [Spy()], [Treatment("sneaky", lambda ctx: ctx.__setitem__(key, 1))])
    assert info.value.key == key and info.value.treatment == "sneaky"
    assert "'sneaky'" in str(info.value) and f"'{key}'" in str(info.value)
    assert ran == []


def test_bad_datasource_and_treatment_types():
    with pytest.raises(ExperimentDefinitionError, match="datasource must be a DataSource"):
        Experiment(datasource=[1, 2], pipeline=[Score()])
    with pytest.raises(ExperimentDefinitionError, match=r"treatments\[0\] is a dict"):
        Experiment(NoiseSource(), [Score()], treatments=[{"x": 1}])


def test_treatment_raising_on_probe_is_named():
    def broken(ctx):
        raise KeyError("needs_key")

    with pytest.raises(ExperimentDefinitionError, match="treatment 'broken' raised KeyError"):
        Experiment(NoiseSource(), [Score()], [Treatment("broken", broken)])


def test_fingerprint_tracks_definition_but_not_replicates():
    base = make_experiment(replicates=3).fingerprint()
    assert make_experiment(replicates=10).fingerprint() == base
    assert make_experiment(seed=8).fingerprint() != base
    assert make_experiment(treatments=[Treatment("shifted", {"shift": 2.0})]).fingerprint() != base


def test_provenance_has_seeds_steps_and_environment():
    result = make_experiment(replicates=3, seed=5).run(store=False)
    prov = result.provenance
    assert prov["master_seed"] == 5
    assert prov["seeds"] == {str(i): replicate_seed(5, i) for i in range(3)}
    assert prov["definition"]["steps"][0]["name"] == "Score"
    assert prov["definition"]["steps"][0]["step_hash"] == Score().step_hash
    assert prov["environment"]["python"] and "numpy" in prov["environment"]["packages"]
    assert "git" in prov


def test_unseeded_experiments_draw_and_record_a_seed():
    exp = make_experiment(seed=None)
    result = exp.run(store=False)
    assert result.provenance["master_seed"] == exp.seed and result.provenance["seed_given"] is False


def test_a_nan_metric_is_a_failed_measurement_and_other_verdicts_are_unaffected():
    class NanOnce(PipelineStep):
        def __call__(self, data, ctx):
            bad = ctx["condition"] == "t" and ctx["replicate"] == 1
            return {"score": float("nan") if bad else 1.0 + ctx["replicate"] + 0.1 * (ctx["condition"] == "t")
                    + 0.01 * ctx["replicate"] ** 2 * (ctx["condition"] == "t"),
                    "clean": float(ctx["replicate"]) + (ctx["condition"] == "t")}

    exp = Experiment(NoiseSource(), [NanOnce()], [Treatment("t", {"a": 1})],
                     hypotheses=[Hypothesis("score"), Hypothesis("clean", WelchTTest())], replicates=6, seed=0)
    result = exp.run(store=False)  # no InvalidMetricError: one bad value never kills every verdict
    assert math.isnan(result.metrics["t"]["score"][1]) and len(result.metrics["t"]["score"]) == 6
    score, clean = result.hypotheses
    assert score.status == "ok" and score.n_pairs == 5 and score.failed_treatment == 1
    assert any("non-finite" in n and "t replicate 1: nan" in n for n in score.notes)
    assert clean.status == "ok" and clean.n_treatment == 6 and clean.failed_treatment == 0
    assert not any("non-finite" in n for n in clean.notes)


def test_paired_tests_drop_a_replicate_that_failed_on_either_side():
    from crystallize.core.stat_test import PairedTTest
    from scipy import stats

    class FailSome(PipelineStep):
        def __call__(self, data, ctx):
            if (ctx["condition"], ctx["replicate"]) in {("baseline", 1), ("t", 3)}:
                raise RuntimeError("lost")
            return {"score": ctx["replicate"] ** 1.5 + (0.5 + 0.1 * ctx["replicate"] if ctx["condition"] == "t" else 0)}

    exp = Experiment(NoiseSource(), [FailSome()], [Treatment("t", {"a": 1})],
                     Hypothesis("score", PairedTTest()), replicates=6, seed=0)
    result = exp.run(store=False)
    verdict = result.hypotheses[0]
    assert verdict.n_pairs == 4 and verdict.failed_baseline == 1 and verdict.failed_treatment == 1
    kept = [0, 2, 4, 5]
    base = [r ** 1.5 for r in kept]
    treat = [r ** 1.5 + 0.5 + 0.1 * r for r in kept]
    # reference: scipy.stats.ttest_rel(treat, base) on the replicates that succeeded on both sides
    assert verdict.p_value == pytest.approx(stats.ttest_rel(treat, base).pvalue, rel=1e-9)


def test_git_state_names_the_commit_and_the_dirty_flag(tmp_path):
    import subprocess

    from crystallize.core.provenance import git_state

    assert git_state(tmp_path) is None  # not a work tree
    run = lambda *args: subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "a.txt").write_text("1")
    run("add", "a.txt")
    run("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "first")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert git_state(tmp_path) == {"commit": sha, "dirty": False}
    (tmp_path / "a.txt").write_text("2")
    assert git_state(tmp_path) == {"commit": sha, "dirty": True}
