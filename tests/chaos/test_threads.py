"""The threads backend keeps every finished run when it refuses shared random
state, and a stuck run never keeps the program alive (issue 12, points 14, 17)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest

from crystallize import DataSource, Experiment, FrozenContext, Pipeline, PipelineStep, Treatment
from crystallize.execution import SharedRandomStateError
from crystallize.store import Store

from .conftest import child_env


class Noise(DataSource):
    """``ctx.rng`` (safe on threads), or NumPy's global generator where a treatment asks for it."""

    def fetch(self, ctx: FrozenContext) -> float:
        return float(np.random.random()) if ctx.get("global_rng", False) else float(ctx.rng.random())


class Finish(PipelineStep):
    """Takes a moment, then notes that the run finished."""

    def __init__(self, finished: list[str]) -> None:
        self.finished = finished

    def __call__(self, data: float, ctx: FrozenContext) -> dict[str, float]:
        time.sleep(0.02)
        self.finished.append(f"{ctx['condition']}/{ctx['replicate']}")
        return {"score": data}

    def __getstate__(self) -> dict[str, Any]:  # the log stays in this process (serial reference run)
        return {"finished": []}


def _experiment(finished: list[str]) -> Experiment:
    return Experiment(Noise(), Pipeline([Finish(finished)]),
                      [Treatment("other", {"shift": 1}), Treatment("global", {"global_rng": True})],
                      replicates=30, seed=4)


def test_shared_random_state_keeps_every_finished_run(tmp_path):
    finished: list[str] = []
    with pytest.raises(SharedRandomStateError, match=r"backend='threads'.*ctx\.rng") as info:
        _experiment(finished).run(backend="threads", workers=4, store=tmp_path, progress=False)
    partial = info.value.result
    assert sorted(r.key for r in partial.records) == sorted(finished)  # every run that finished is kept
    refused = [r for r in partial.records if not r.ok]
    assert refused and all(r.error.type == "SharedRandomStateError" and r.metrics == {} for r in refused)
    reference = {r.key: r.metrics for r in _experiment([]).run(store=False, progress=False).records}
    assert all(r.metrics == reference[r.key] for r in partial.records if r.ok and r.condition != "global")
    (info_row,) = Store(tmp_path).experiment_runs()
    assert (info_row.status, info_row.runs_done + info_row.runs_failed) == ("failed", len(finished))


STUCK = """
import logging
import time
from crystallize import Experiment, Pipeline, Treatment
from tests.chaos.scenarios import HeldSource, Work

logging.basicConfig(level=logging.WARNING)

class Stuck(Work):
    def __call__(self, data, ctx):
        if ctx["condition"] == "stuck" and ctx["replicate"] == 0:
            time.sleep(120)  # a call that never comes back
        return super().__call__(data, ctx)

result = Experiment(HeldSource(), Pipeline([Stuck()]), [Treatment("stuck", {"nap": 0.001})], replicates=3,
                    seed=1).run(backend="threads", workers=2, timeout=1, store=False, progress=False)
print("statuses", sorted(r.status for r in result.records), flush=True)
"""


def test_a_stuck_run_on_a_thread_does_not_keep_the_program_alive(tmp_path):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", STUCK], cwd=tmp_path, env=child_env(), capture_output=True,
                          text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - started < 90
    assert "statuses ['ok', 'ok', 'ok', 'ok', 'ok', 'timeout']" in done.stdout
    assert "still execute on background threads" in done.stderr
    assert not [t for t in threading.enumerate() if t.name == "crystallize-run" and not t.daemon]
