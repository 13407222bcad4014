"""Behaviour a careful user relies on, each pinned after it was found wanting."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from crystallize import (
    DataSource,
    Experiment,
    ExperimentDefinitionError,
    FrozenContext,
    Hypothesis,
    PipelineStep,
    Result,
    StatisticalTest,
    Treatment,
    data_source,
    pipeline_step,
)
from crystallize.core.stat_test import PairedTTest, WelchTTest

from .conftest import NoiseSource


class Draw(PipelineStep):
    def __call__(self, data, ctx):
        return {"x": float(ctx.rng.random()) + random.random(), "noise": ctx.get("noise", 0.0)}


def test_constant_samples_of_different_sizes_are_not_significant():
    verdict = Hypothesis("m", WelchTTest(), direction="decrease").evaluate([0.1] * 3, [0.1] * 5)
    assert verdict.p_value == 1.0 and not verdict.significant and not verdict.accepted


def test_a_treatment_drawing_random_numbers_keeps_runs_reproducible_and_paired():
    def noisy(ctx):
        ctx["noise"] = random.random() + float(ctx.rng.normal())

    exp = Experiment(NoiseSource(), [Draw()], [Treatment("noisy", noisy)], replicates=3, seed=4)
    first, second = exp.run(store=False), exp.run(store=False)
    assert first.metrics == second.metrics
    # the steps of both conditions see the same random state despite the treatment's draws
    assert first.metrics["noisy"]["x"] == first.metrics["baseline"]["x"]


def test_mutable_treatment_values_never_leak_between_runs():
    class Grow(PipelineStep):
        def __call__(self, data, ctx):
            layers = ctx["layers"]
            layers.append(1)
            return {"n": float(len(layers))}

    treatment = Treatment("t", {"layers": [64]})
    exp = Experiment(NoiseSource(), [Grow()], [treatment], replicates=4, seed=0)
    result = exp.run(store=False)
    assert result.metrics["t"]["n"] == [2.0] * 4
    assert treatment.values == {"layers": [64]}


def test_json_round_trip_gives_an_equal_result():
    @pipeline_step
    def shape(data, ctx, *, dims=(1, 2)):
        return {"v": float(sum(dims)) + float(ctx.rng.random())}

    exp = Experiment(NoiseSource(), [shape()], [Treatment("big", {"dims": (3, 4)})],
                     Hypothesis("v", PairedTTest()), replicates=3, seed=1)
    result = exp.run(store=False)
    again = Result.from_json(result.to_json())
    assert again.records == result.records
    assert again.verdicts == result.verdicts


def test_equivalence_verdicts_come_from_tost_alone():
    from statsmodels.stats.weightstats import ttost_paired

    base = [1.00, 1.02, 0.98, 1.01, 0.99, 1.00, 1.03, 0.97]
    treat = [1.01, 1.01, 0.99, 1.00, 1.00, 1.01, 1.02, 0.98]
    verdict = Hypothesis("m", PairedTTest(), direction="equal", margin=0.05).evaluate(base, treat)
    # reference: statsmodels ttost_paired(treat, base, -0.05, 0.05)[0]
    assert verdict.p_value == pytest.approx(ttost_paired(np.array(treat), np.array(base), -0.05, 0.05)[0], rel=1e-9)
    assert verdict.test == "tost" and verdict.margin == 0.05 and verdict.accepted
    assert verdict.ci_level == pytest.approx(0.90)


def test_relative_margin_with_zero_baseline_mean_is_defined():
    verdict = Hypothesis("m", PairedTTest(), direction="equal", margin=0.1, margin_relative=True).evaluate(
        [1.0, -1.0, 0.5, -0.5], [1.1, -0.9, 0.4, -0.6])
    assert verdict.status == "skipped" and not verdict.accepted and "cannot be tested" in verdict.notes[-1]


def test_a_user_test_without_super_init_works_in_experiments():
    class Mine(StatisticalTest):
        def __init__(self) -> None:
            self.threshold = 0.5

        def run(self, baseline: Sequence[float], treatment: Sequence[float], *, alpha: float = 0.05
                ) -> Mapping[str, Any]:
            return {"p_value": 0.01, "significant": True}

    exp = Experiment(NoiseSource(), [Draw()], [Treatment("t", {"a": 1})], Hypothesis("x", Mine()),
                     replicates=2, seed=0)
    assert exp.run(store=False).hypotheses[0].p_value == 0.01


def test_ctx_parameter_with_a_default_still_receives_the_context():
    @pipeline_step
    def step(data, ctx=None, *, k=1):
        return {"replicate": float(ctx["replicate"]), "k": float(k)}

    @data_source
    def source(ctx=None):
        return ctx["seed"]

    assert step().params == {"k": 1}
    assert step()(0, FrozenContext({"replicate": 3}))["replicate"] == 3.0
    assert source().fetch(FrozenContext({"seed": 9})) == 9


def test_direction_contradicting_the_alternative_is_refused():
    with pytest.raises(ExperimentDefinitionError, match="contradicts the test's alternative='less'"):
        Hypothesis("m", WelchTTest(alternative="less"), direction="increase")


def test_a_step_without_a_data_parameter_is_refused_at_definition():
    @pipeline_step
    def nothing():
        return {}

    with pytest.raises(ExperimentDefinitionError, match=r"must take the data as its first parameter"):
        nothing()


def test_a_raw_p_value_of_zero_stays_zero_after_adjustment():
    class Huge(PipelineStep):
        def __call__(self, data, ctx):
            return {"y": 100.0 * (ctx["condition"] == "t") + float(ctx.rng.normal(0, 1e-3)), "z": 1.0}

    exp = Experiment(NoiseSource(), [Huge()], [Treatment("t", {"a": 1})],
                     hypotheses=[Hypothesis("y", WelchTTest(), direction="increase"),
                                 Hypothesis("z", WelchTTest())], replicates=30, seed=0)
    with pytest.warns(Warning):
        verdict = exp.run(store=False).get_hypothesis("y")
    assert verdict.p_value < 1e-30 and verdict.p_value_adjusted < 1e-30 and verdict.accepted


def test_a_significant_effect_against_the_direction_is_labelled_as_such():
    verdict = Hypothesis("m", WelchTTest(), direction="increase").evaluate(
        [1.0, 1.1, 0.9, 1.05, 0.95], [0.5, 0.6, 0.4, 0.55, 0.45])
    assert verdict.significant and not verdict.accepted and verdict.label == "opposite direction"
    assert Hypothesis("m", WelchTTest(), direction="increase").evaluate(
        [1.0, 1.1, 0.9], [1.0, 1.1, 0.95]).label == "not accepted"


def test_the_summary_groups_identical_failures():
    class Broken(PipelineStep):
        def __call__(self, data, ctx):
            if ctx["condition"] == "t":
                raise ValueError("unknown method savgol")
            return {"x": 1.0}

    result = Experiment(NoiseSource(), [Broken()], [Treatment("t", {"a": 1})], replicates=12, seed=0).run(store=False)
    text = str(result)
    assert "Failures (12 runs)" in text
    assert "t (12 runs, replicates 0, 1, 2, 3, 4, 5, 6, 7, ...) in step 'Broken': ValueError: unknown method" in text
    assert text.count("unknown method savgol") == 1


def test_captured_values_and_defaults_change_the_fingerprint():
    from crystallize.core.fingerprint import code_fingerprint

    def make(value):
        return lambda ctx: ctx.__setitem__("lr", value)

    assert code_fingerprint(make(0.1)) != code_fingerprint(make(0.5))
    assert code_fingerprint(make(0.1)) == code_fingerprint(make(0.1))
    defaults = [lambda ctx, v=v: ctx.__setitem__("lr", v) for v in (0.1, 0.5)]
    assert code_fingerprint(defaults[0]) != code_fingerprint(defaults[1])
    exp = lambda lr: Experiment(NoiseSource(), [Draw()], [Treatment("t", make(lr))], seed=1)  # noqa: E731
    assert exp(0.1).fingerprint() != exp(0.5).fingerprint()


def test_editing_a_helper_in_another_project_module_changes_the_fingerprint(tmp_path, monkeypatch):
    import importlib
    import sys

    from crystallize.core.fingerprint import _is_project, code_fingerprint

    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "fp_helper.py").write_text("def transform(x):\n    return x * 2\n")
    (tmp_path / "fp_steps.py").write_text(
        "import fp_helper\nfrom fp_helper import transform\n\n"
        "def step(data, ctx):\n    return {'a': fp_helper.transform(data), 'b': transform(data)}\n")
    import fp_steps

    before = code_fingerprint(fp_steps.step)
    (tmp_path / "fp_helper.py").write_text("def transform(x):\n    return x * 100\n")
    for name in ("fp_helper", "fp_steps"):
        sys.modules.pop(name)
    _is_project.cache_clear()
    import fp_steps as reloaded

    importlib.invalidate_caches()
    assert code_fingerprint(reloaded.step) != before
    for name in ("fp_helper", "fp_steps"):
        sys.modules.pop(name)


def test_private_attributes_of_a_step_change_its_hash():
    class Priv(PipelineStep):
        cacheable = True

        def __init__(self, factor):
            self._factor = factor

        def __call__(self, data, ctx):
            return {"x": float(self._factor)}

    assert Priv(2).params == {} and Priv(2).step_hash != Priv(3).step_hash


def test_a_raising_listener_marks_the_stored_run_failed_and_keeps_the_partial_result(tmp_path):
    import crystallize.store

    class Boom:
        def on_run_complete(self, record):
            if record.replicate == 2:
                raise RuntimeError("listener broke")

    exp = Experiment(NoiseSource(), [Draw()], replicates=5, seed=0, name="boom")
    with pytest.raises(RuntimeError, match="listener broke") as info:
        exp.run(store=tmp_path / "s", callbacks=[Boom()])
    assert len(info.value.result.records) == 3
    (run,) = crystallize.store.open(tmp_path / "s").experiment_runs()
    assert run.status == "failed"


def test_a_treatment_key_nothing_reads_is_reported_with_the_closest_key():
    @pipeline_step
    def knn(data, ctx, *, n_neighbors=1):
        return {"acc": float(n_neighbors) + float(ctx.rng.random())}

    exp = Experiment(NoiseSource(), [knn()], [Treatment("k15", {"n_neighbours": 15}), Treatment("ok", {"n_neighbors": 3})],
                     Hypothesis("acc", PairedTTest()), replicates=3, seed=0)
    with pytest.warns(Warning, match=r"treatment 'k15' sets 'n_neighbours' \(did you mean 'n_neighbors'\?\), "
                                     r"which no step or data source read"):
        result = exp.run(store=False)
    assert any("which no step or data source read" in n for n in result.get_hypothesis("acc", "k15").notes)
    assert not any("no step" in n for n in result.get_hypothesis("acc", "ok").notes)
    assert result.records[0].unread == ()  # only treatments are watched


def test_a_resumed_run_says_how_many_runs_it_loaded(tmp_path):
    exp = Experiment(NoiseSource(), [Draw()], replicates=3, seed=0, name="resumable")
    exp.run(store=tmp_path / "s", progress=False)
    again = Experiment(NoiseSource(), [Draw()], replicates=5, seed=0, name="resumable")
    result = again.run(store=tmp_path / "s", resume=True, progress=False)
    assert result.provenance["resumed_runs"] == 3
    assert "resumed: 3 runs loaded from the store" in str(result)


def test_private_attributes_of_a_data_source_change_the_fingerprint():
    class Private(DataSource):
        def __init__(self, scale):
            self._scale = scale

        def fetch(self, ctx):
            return self._scale

    make = lambda scale: Experiment(Private(scale), [Draw()], seed=1)  # noqa: E731
    assert make(1).fingerprint() != make(2).fingerprint()
    assert make(1).fingerprint() == make(1).fingerprint()
