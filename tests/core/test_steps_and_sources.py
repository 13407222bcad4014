from __future__ import annotations

import pickle

import cloudpickle
import pytest

from crystallize import ExperimentDefinitionError, FrozenContext, PipelineStep, data_source, pipeline_step


@pipeline_step
def train(data, ctx, *, learning_rate=0.001, epochs=5):
    return {"lr": learning_rate, "epochs": epochs, "data": data}


@pipeline_step(cacheable=True)
def no_ctx(data, *, factor=2):
    return data * factor


@data_source
def numbers(ctx, *, n=3):
    return list(range(n))


@data_source
def fixed(*, value=4):
    return value


def test_keyword_parameters_come_from_context_or_default():
    step = train()
    assert step(1, FrozenContext({}))["lr"] == 0.001
    assert step(1, FrozenContext({"learning_rate": 0.01}))["lr"] == 0.01


def test_bound_values_are_defaults_and_count_in_params():
    step = train(epochs=10)
    assert step.params == {"learning_rate": 0.001, "epochs": 10}
    assert step(0, FrozenContext({}))["epochs"] == 10
    assert step(0, FrozenContext({"epochs": 20}))["epochs"] == 20
    assert step.resolved_params(FrozenContext({"learning_rate": 0.5})) == {"learning_rate": 0.5, "epochs": 10}
    assert train(epochs=10).step_hash != train(epochs=11).step_hash
    assert train(epochs=10).step_hash == train(epochs=10).step_hash


def test_unknown_bound_parameter_is_refused_with_suggestion():
    with pytest.raises(ExperimentDefinitionError, match="did you mean 'epochs'"):
        train(epoch=3)


def test_step_without_ctx_and_cacheable_flag():
    step = no_ctx()
    assert step(3, FrozenContext({"factor": 5})) == 15
    assert step.is_cacheable and not train().is_cacheable


def test_data_source_injection():
    assert numbers().fetch(FrozenContext({})) == [0, 1, 2]
    assert numbers().fetch(FrozenContext({"n": 5})) == [0, 1, 2, 3, 4]
    assert fixed().fetch(FrozenContext({"value": 9})) == 9
    assert numbers(n=2).params == {"n": 2}


def test_function_steps_pickle():
    step = train(epochs=3)
    for dumps in (pickle.dumps, cloudpickle.dumps):
        clone = pickle.loads(dumps(step))
        assert clone.params == step.params and clone.step_hash == step.step_hash


def test_class_step_params_default_to_public_attributes():
    class Scale(PipelineStep):
        def __init__(self, factor):
            self.factor = factor
            self._private = object()

        def __call__(self, data, ctx):
            return data * self.factor

    assert Scale(3).params == {"factor": 3}
    assert Scale(3).step_hash != Scale(4).step_hash
    assert repr(Scale(3)) == "Scale(factor=3)"


def test_too_many_positional_parameters_are_refused():
    def bad(data, ctx, extra):
        return data

    with pytest.raises(ExperimentDefinitionError, match="keyword-only"):
        pipeline_step(bad)()
