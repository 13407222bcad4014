"""A run that calls ``sys.exit`` is one recorded failure on every backend, and a
worker's death is reported for what it was (issue 12, point 19)."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

from crystallize import DataSource, Experiment, FrozenContext, Pipeline, Treatment
from crystallize.execution import BackendError
from tests.execution.conftest import worker_processes

from .scenarios import Exits

BACKENDS = ["serial", "threads", "processes", pytest.param("ray", marks=pytest.mark.ray),
            pytest.param("dask", marks=pytest.mark.dask)]


class Source(DataSource):
    def fetch(self, ctx: FrozenContext) -> None:
        return None


@pytest.mark.parametrize("backend", BACKENDS)
def test_sys_exit_in_a_step_fails_that_run_only(backend, tmp_path):
    experiment = Experiment(Source(), Pipeline([Exits()]), [Treatment("exits", {"exit_at": (1,)})], replicates=4,
                            seed=2)
    result = experiment.run(backend=backend, workers=2, store=tmp_path, progress=False)  # the test process lives on
    failed = [r for r in result.records if not r.ok]
    assert [(r.key, r.status) for r in failed] == [("exits/1", "failed")]
    error = failed[0].error
    assert (error.type, error.step) == ("SystemExit", "Exits")
    assert "exit code 3" in error.message and "SIGKILL" not in error.message
    assert len(result.records) == 8 and not result.interrupted


class SlowToLoad(DataSource):
    """Takes a while to unpickle in a worker (a large model, a slow import): a window to kill it in."""

    def fetch(self, ctx: FrozenContext) -> float:
        return float(ctx.rng.random())

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        time.sleep(float(os.environ.get("CHAOS_LOAD_SECONDS", "0")))


class ExitsOnLoad(SlowToLoad):
    """Ends the worker process while it loads the experiment (a module calling os._exit on import)."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        os._exit(3)


def _experiment(source: DataSource) -> Experiment:
    from .scenarios import Work

    return Experiment(source, Pipeline([Work()]), replicates=4, seed=2)


def test_workers_killed_from_outside_while_loading_are_not_blamed_on_the_code(monkeypatch, no_orphans):
    monkeypatch.setenv("CHAOS_LOAD_SECONDS", "3")  # inherited by the workers
    stop = threading.Event()
    killed: set[int] = set()

    def kill_new_workers() -> None:  # someone (a script, the OOM killer) kills every worker as it starts
        while not stop.is_set():
            for process in worker_processes():
                if process.pid not in killed:
                    killed.add(process.pid)
                    os.kill(process.pid, signal.SIGKILL)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_new_workers, daemon=True)
    killer.start()
    try:
        with pytest.raises(BackendError) as info:
            _experiment(SlowToLoad()).run(backend="processes", workers=2, store=False, progress=False)
    finally:
        stop.set()
        killer.join(5)
    message = str(info.value)
    assert "killed by SIGKILL" in message and "from outside" in message
    assert "imports cleanly" not in message


def test_workers_that_exit_while_loading_point_at_the_code(no_orphans):
    with pytest.raises(BackendError, match=r"exit code 3\); check that its code imports cleanly"):
        _experiment(ExitsOnLoad()).run(backend="processes", workers=2, store=False, progress=False)
