"""A process killed with SIGKILL in the middle of an experiment loses nothing it recorded:
``resume=True`` loads the recorded runs (never executing them again), runs the rest, and
returns exactly the samples of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crystallize.execution.resolve import BACKENDS
from crystallize.store import open as open_store

EXPERIMENT = '''
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from crystallize import DataSource, Experiment, Hypothesis, PipelineStep, Treatment
from crystallize.core.stat_test import WelchTTest


class Source(DataSource):
    def __init__(self, log_dir):
        self.log_dir = log_dir

    def fetch(self, ctx):
        (Path(self.log_dir) / f"{ctx['condition']}-{ctx['replicate']}-{uuid.uuid4().hex}").touch()
        return float(ctx.rng.normal()) + float(np.random.random())


class Slow(PipelineStep):
    def __call__(self, data, ctx):
        time.sleep(0.1)
        return {"score": data + ctx.get("shift", 0.0)}


def experiment(log_dir):
    return Experiment(Source(log_dir), [Slow()], [Treatment("shifted", {"shift": 0.5})],
                      hypothesis=Hypothesis("score", WelchTTest(), direction="increase"),
                      replicates=30, seed=11, name="killme")


class Marker:
    """Writes the marker file once ``after`` runs have finished."""

    def __init__(self, path, after):
        self.path, self.after, self.count = path, after, 0

    def on_run_complete(self, record):
        self.count += 1
        if self.count == self.after:
            Path(self.path).write_text("go")


def main(mode, store, log_dir, backend, marker, out):
    if mode == "crash":
        experiment(log_dir).run(store=store, backend=backend, workers=2, progress=False,
                                callbacks=[Marker(marker, 20)])
        time.sleep(600)  # never reached in the test: the process is killed first
    else:
        result = experiment(log_dir).run(store=store, backend=backend, workers=2, progress=False, resume=True)
        result.to_json(out)
'''

BACKEND_NAMES = ["serial", pytest.param("processes", marks=pytest.mark.skipif(
    "processes" not in BACKENDS, reason="the processes backend is not available"))]


def _child(tmp_path: Path, mode: str, backend: str, log_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    args = [mode, str(tmp_path / "store"), str(log_dir), backend, str(tmp_path / "marker"), str(tmp_path / "out.json")]
    code = f"import killexp; killexp.main(*{args!r})"
    return subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, start_new_session=True)


def _executions(log_dir: Path) -> dict[tuple[str, int], int]:
    counts: dict[tuple[str, int], int] = {}
    for path in log_dir.iterdir():
        condition, replicate, _ = path.name.rsplit("-", 2)
        counts[(condition, int(replicate))] = counts.get((condition, int(replicate)), 0) + 1
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_resume_after_sigkill_continues_without_running_recorded_runs_again(tmp_path, backend):
    (tmp_path / "killexp.py").write_text(EXPERIMENT)
    log_dir = tmp_path / "executions"
    log_dir.mkdir()
    crash = _child(tmp_path, "crash", backend, log_dir)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "marker").exists():
            assert crash.poll() is None, "the experiment process ended before it was killed"
            assert time.monotonic() < deadline, "the experiment never reached 20 runs"
            time.sleep(0.02)
        time.sleep(1.2)  # the store commits at least every second; let one commit land
        assert crash.poll() is None, "the experiment finished before it was killed"
    finally:
        os.killpg(crash.pid, signal.SIGKILL)  # the process and its workers, as a crash would
        crash.wait()
    assert crash.returncode == -signal.SIGKILL

    store = open_store(tmp_path / "store")
    (crashed,) = store.experiment_runs()
    assert crashed.status == "running" and crashed.finished is None
    recorded = {(r.condition, r.replicate) for r in store.load_records(crashed.id) if r.ok}
    assert 0 < len(recorded) < 60
    store.close()

    resume = _child(tmp_path, "resume", backend, log_dir)
    assert resume.wait(timeout=300) == 0
    resumed = json.loads((tmp_path / "out.json").read_text())
    counts = _executions(log_dir)
    assert all(counts[key] == 1 for key in recorded), "a recorded run was executed again"
    assert len(counts) == 60  # every planned run executed at least once
    assert resumed["run_id"] == crashed.id and not resumed["interrupted"]

    sys.path.insert(0, str(tmp_path))
    try:
        import killexp

        fresh_dir = tmp_path / "fresh"
        fresh_dir.mkdir()
        uninterrupted = killexp.experiment(str(fresh_dir)).run(store=False, progress=False)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("killexp", None)
    expected = json.loads(uninterrupted.to_json())
    key = lambda r: (r["replicate"], r["condition"])  # noqa: E731
    assert [(r["condition"], r["replicate"], r["seed"], r["metrics"]) for r in sorted(resumed["records"], key=key)] \
        == [(r["condition"], r["replicate"], r["seed"], r["metrics"]) for r in sorted(expected["records"], key=key)]
    assert resumed["verdicts"][0]["p_value"] == expected["verdicts"][0]["p_value"]
    final = open_store(tmp_path / "store").experiment_runs()[0]
    assert (final.id, final.status, final.runs_done) == (crashed.id, "completed", 60)
