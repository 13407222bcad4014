"""Sequential experiments on every backend: the same decisions and stopping counts, one set of workers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from crystallize import Experiment, Hypothesis, Sequential, SequentialTTest, Treatment, data_source, pipeline_step
from crystallize.execution import ProcessesBackend


@data_source
def draw(ctx: Any, *, n: int = 10) -> Any:
    return ctx.rng.normal(0.0, 1.0, n)


@pipeline_step
def score(data: Any, ctx: Any, *, lift: float = 0.0) -> dict[str, float]:
    own = np.random.default_rng([ctx["seed"], len(ctx["condition"])]).normal(0.0, 0.5)
    return {"score": float(data.mean()) + lift + own}


def experiment() -> Experiment:
    return Experiment(draw(), [score()], [Treatment("big", {"lift": 0.9}), Treatment("none", {"lift": 0.0})],
                      hypotheses=[Hypothesis("score", SequentialTTest(), direction="increase", min_effect=0.6)],
                      replicates=Sequential(max=80, batch=5, min=5), seed=21, name="seq-backends")


def summary(result: Any) -> tuple[Any, ...]:
    verdicts = tuple((v.treatment, v.label, v.decided_at, v.p_value, v.e_value) for v in result.hypotheses)
    return result.stopped_at, result.stop_reason, verdicts, result.metrics["big"]["score"]


@pytest.fixture(scope="module")
def serial() -> tuple[Any, ...]:
    result = experiment().run(store=False, progress=False)
    assert result.stopped_at > 10  # several rounds
    return summary(result)


def test_processes_give_the_same_decisions_with_one_pool_for_every_round(serial, monkeypatch):
    from crystallize.execution import processes

    started = []
    real = processes.ProcessPool

    def counting(*args: Any, **kwargs: Any) -> Any:
        started.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(processes, "ProcessPool", counting)
    with ProcessesBackend(workers=2) as backend:
        assert summary(experiment().run(backend=backend, store=False, progress=False)) == serial
    assert len(started) == 1  # the workers stayed up between rounds


def test_threads_give_the_same_decisions(serial):
    assert summary(experiment().run(backend="threads", workers=2, store=False, progress=False)) == serial


@pytest.mark.dask
def test_dask_gives_the_same_decisions(serial, dask_client):
    assert summary(experiment().run(backend=dask_client, store=False, progress=False)) == serial


@pytest.mark.ray
def test_ray_gives_the_same_decisions(serial, ray_session):
    assert summary(experiment().run(backend="ray", workers=2, store=False, progress=False)) == serial
