"""Chaos 12.5: a step whose attribute changes after a run (notebook style, same experiment
object) gets a new identity at the next run: no stale cache hit, a new fingerprint."""

from __future__ import annotations

import pytest

from crystallize import DataSource, Experiment, PipelineStep, Treatment
from crystallize.store import DefinitionChangedError

from ..store.conftest import store_path  # noqa: F401 - fixture


class One(DataSource):
    def fetch(self, ctx):
        return 1.0


class Scale(PipelineStep):
    cacheable = True

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __call__(self, data, ctx):
        return data * self.factor


class PrivateScale(PipelineStep):
    cacheable = True

    def __init__(self, factor: float) -> None:
        self._factor = factor

    def __call__(self, data, ctx):
        return data * self._factor


class Report(PipelineStep):
    def __call__(self, data, ctx):
        return {"value": data + ctx.get("offset", 0.0)}


def _experiment(step: PipelineStep) -> Experiment:
    return Experiment(One(), [step, Report()], [Treatment("offset", {"offset": 0.5})], replicates=3, seed=9,
                      name="notebook")


def test_changing_an_attribute_after_a_run_is_not_a_cache_hit(store_path):
    step = Scale(2)
    experiment = _experiment(step)
    first = experiment.run(store=store_path, progress=False)
    assert first.metrics["baseline"]["value"] == [2.0, 2.0, 2.0]
    before = experiment.fingerprint()
    step.factor = 10  # the notebook cell that changes the step, same experiment object
    second = experiment.run(store=store_path, progress=False)
    assert second.metrics["baseline"]["value"] == [10.0, 10.0, 10.0]
    assert second.metrics["offset"]["value"] == [10.5, 10.5, 10.5]
    assert second.records[0].steps[0].cache == "miss"  # the first run with factor 10 computes it
    assert experiment.fingerprint() != before
    assert second.provenance["fingerprint"] != first.provenance["fingerprint"]
    assert second.provenance["definition"]["steps"][0]["params"] == {"factor": 10}


def test_changing_a_private_attribute_after_a_run_is_not_a_cache_hit(store_path):
    step = PrivateScale(2)
    experiment = _experiment(step)
    experiment.run(store=store_path, progress=False)
    step._factor = 10
    assert experiment.run(store=store_path, progress=False).metrics["baseline"]["value"] == [10.0] * 3


def test_resume_after_a_private_attribute_changed_refuses_instead_of_mixing_runs(store_path):
    step = PrivateScale(2)
    experiment = _experiment(step)
    first = experiment.run(store=store_path, progress=False)
    step._factor = 10  # only the step's identity (its private state) tells the change
    assert experiment.definition()["steps"][0]["step_hash"] != first.provenance["definition"]["steps"][0]["step_hash"]
    with pytest.raises(DefinitionChangedError, match=r"the private attributes of step 'PrivateScale' \(#0\) changed"):
        experiment.run(store=store_path, progress=False, resume=True)
    step._factor = 2  # back to the stored definition: resumes, nothing recomputed, the old samples
    again = experiment.run(store=store_path, progress=False, resume=True)
    assert again.metrics["baseline"]["value"] == [2.0, 2.0, 2.0]
    assert again.provenance["resumed_runs"] == 6
