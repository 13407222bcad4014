from __future__ import annotations

import pytest

from crystallize import FrozenContext, InvalidPipelineOutput, Pipeline, PipelineExecutionError, PipelineStep
from crystallize.core.exceptions import ExperimentDefinitionError

from .conftest import add, report


class Explode(PipelineStep):
    def __call__(self, data, ctx):
        raise RuntimeError("boom")


def test_runs_steps_in_order_on_a_bare_context():
    pipeline = Pipeline([add(amount=2), report()])
    assert pipeline.run(1, FrozenContext({})) == {"value": 3}
    assert pipeline.run(1) == {"value": 3}


def test_steps_positionally_or_by_keyword_and_uncalled_factories():
    assert Pipeline(steps=[add, report]).run(1) == {"value": 1}


def test_last_step_must_return_a_mapping():
    with pytest.raises(InvalidPipelineOutput, match="last step 'add' must return a Mapping"):
        Pipeline([add()]).run(1)


def test_failing_step_is_named():
    with pytest.raises(PipelineExecutionError) as info:
        Pipeline([add(), Explode(), report()]).run(1)
    assert info.value.step == "Explode" and info.value.step_index == 1
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "Explode" in str(info.value) and "boom" in str(info.value)


def test_provenance_per_step():
    pipeline = Pipeline([add(amount=2), report()])
    pipeline.run(1, FrozenContext({"amount": 5}))
    prov = pipeline.get_provenance()
    assert [p["name"] for p in prov] == ["add", "report"]
    assert prov[0]["params"] == {"amount": 5}
    assert prov[0]["step_hash"] == pipeline.steps[0].step_hash
    assert all(p["duration"] >= 0 and p["cache"] is None for p in prov)


def test_signature_changes_with_params():
    assert Pipeline([add(amount=1), report()]).signature() != Pipeline([add(amount=2), report()]).signature()
    assert Pipeline([add(amount=1), report()]).signature() == Pipeline([add(amount=1), report()]).signature()


def test_non_steps_are_refused_with_a_hint():
    with pytest.raises(ExperimentDefinitionError, match="pass an instance: Explode()"):
        Pipeline([Explode])
    with pytest.raises(ExperimentDefinitionError, match="#1 is a int"):
        Pipeline([add(), 3])
    with pytest.raises(ExperimentDefinitionError, match="at least one step"):
        Pipeline([])


def test_repr_is_truncated():
    assert "5 more" in repr(Pipeline([add()] * 14 + [report()]))
