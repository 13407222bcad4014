"""``timeout=`` means one thing on every backend: the seconds a run spends
executing on its worker (issue 12, point 6)."""

from __future__ import annotations

import time

import pytest

from crystallize import DataSource, Experiment, FrozenContext, Pipeline, PipelineStep, Treatment

#: the 8 of 72 runs that take 1.5 s, past timeout=1; the others take 20 ms
SLOW = {("t1", 2), ("t2", 5), ("baseline", 7), ("t3", 9), ("t1", 11), ("t2", 13), ("t3", 15), ("baseline", 17)}


class Nothing(DataSource):
    def fetch(self, ctx: FrozenContext) -> None:
        return None


class Nap(PipelineStep):
    def __call__(self, data: None, ctx: FrozenContext) -> dict[str, float]:
        time.sleep(1.5 if (ctx["condition"], ctx["replicate"]) in SLOW else 0.02)
        return {"x": float(ctx["replicate"])}


@pytest.mark.slow
@pytest.mark.parametrize("backend", [
    "serial", "threads", "processes", pytest.param("ray", marks=pytest.mark.ray),
    pytest.param("dask", marks=pytest.mark.dask),
])
def test_exactly_the_runs_past_the_timeout_time_out(backend):
    experiment = Experiment(Nothing(), Pipeline([Nap()]), [Treatment(f"t{i}", {"k": i}) for i in (1, 2, 3)],
                            replicates=18, seed=1)
    result = experiment.run(backend=backend, workers=2, timeout=1, store=False, progress=False)
    assert len(result.records) == 72
    timed_out = {(r.condition, r.replicate) for r in result.records if r.status == "timeout"}
    assert timed_out == SLOW  # not a healthy run more (a replacement worker's start-up does not count)
    assert all(r.ok for r in result.records if (r.condition, r.replicate) not in SLOW)
