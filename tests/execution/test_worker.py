from __future__ import annotations

import threading

from crystallize.core.plan import plan_runs
from crystallize.core.record import RunRecord
from crystallize.execution.worker import run_batch

SPECS = plan_runs(1, ["baseline"], 5)


def test_a_set_stop_skips_the_runs_not_yet_started():
    stop = threading.Event()
    ran = []

    def task(spec):
        ran.append(spec.key)
        if len(ran) == 2:
            stop.set()  # as a Dask worker does when the connection of the experiment run closes
        return RunRecord(spec.condition, spec.replicate, spec.seed, "ok", {"x": 1.0}, None, 0.0)

    result = run_batch(task, SPECS, stop)
    assert ran == ["baseline/0", "baseline/1"]
    assert [r.key for r in result.records] == ran and not result.interrupted
    assert len(run_batch(task, SPECS, stop).records) == 0
    assert len(run_batch(task, SPECS).records) == 5
