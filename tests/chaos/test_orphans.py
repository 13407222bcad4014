"""Nothing the project started outlives it: processes-backend workers die with
a killed parent, and a Ray started for a run goes with all its agents
(issue 12, point 18)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from .conftest import child_env

SCRIPT = """
import sys
import time
from pathlib import Path

from crystallize import Experiment, Pipeline
from tests.chaos.scenarios import HeldSource, Work

class Marks(Work):
    def __init__(self, folder, seconds):
        self.folder, self.seconds = folder, seconds

    def __call__(self, data, ctx):
        (Path(self.folder) / f"started-{ctx['replicate']}").touch()
        time.sleep(self.seconds)
        (Path(self.folder) / f"finished-{ctx['replicate']}").touch()
        return super().__call__(data, ctx)

steps = [Marks(sys.argv[2], float(sys.argv[3]))]
Experiment(HeldSource(), Pipeline(steps), replicates=int(sys.argv[4]), seed=1).run(
    backend=sys.argv[1], workers=2, store=False, progress=False)
"""


def _start(tmp_path: Path, backend: str, seconds: float, replicates: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, backend, str(tmp_path), str(seconds), str(replicates)],
                            cwd=tmp_path, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds:g} s"
        time.sleep(0.2)


def _alive(processes: list[psutil.Process]) -> list[str]:
    out = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                out.append(" ".join(process.cmdline())[:80] or process.name())
        except psutil.Error:
            continue
    return out


def _kill_all(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            continue


def _descendants_once_running(tmp_path: Path, child: subprocess.Popen[bytes], runs: int) -> list[psutil.Process]:
    """Every process under ``child`` once ``runs`` runs have started."""
    _wait_for(lambda: child.poll() is not None or len(list(tmp_path.glob("started-*"))) >= runs, 180,
              "the runs did not start")
    assert child.poll() is None, child.stderr.read().decode()[-2000:] if child.stderr else ""
    time.sleep(1)  # every worker and agent is up
    return psutil.Process(child.pid).children(recursive=True)


def test_processes_workers_die_with_a_killed_parent(tmp_path):
    child = _start(tmp_path, "processes", 60, 4)
    family: list[psutil.Process] = []
    try:
        family = _descendants_once_running(tmp_path, child, 2)
        assert len(family) >= 2
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        _wait_for(lambda: not _alive(family), 15, f"workers still running: {_alive(family)}")
        assert not list(tmp_path.glob("finished-*"))  # the runs were stopped, not left to run to their end
    finally:
        child.kill()
        child.wait()
        _kill_all(family)


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.parametrize("ending", ["driver-killed", "run-ends"])
def test_a_ray_started_for_the_run_leaves_nothing_behind(tmp_path, ending):
    child = _start(tmp_path, "ray", 60 if ending == "driver-killed" else 6, 2)
    family: list[psutil.Process] = []
    try:
        family = _descendants_once_running(tmp_path, child, 1)
        names = " ".join(" ".join(p.cmdline()) for p in family).lower()
        assert "raylet" in names
        assert "agent" in names  # the dashboard and runtime-env agents are there to be stopped
        if ending == "driver-killed":
            child.send_signal(signal.SIGKILL)
        assert child.wait(120) == (-signal.SIGKILL if ending == "driver-killed" else 0)
        _wait_for(lambda: not _alive(family), 30, f"left running: {_alive(family)}")
    finally:
        child.kill()
        child.wait()
        _kill_all(family)
