"""Ctrl-C and SIGTERM stop an experiment run cleanly: finished runs committed,
the run marked interrupted, a partial result returned (issue 12, points 11-12)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from crystallize.store import open as open_store

from .conftest import ROOT, child_env
from .scenarios import Arrivals, long_experiment


def _stored(store: Path) -> tuple[str, int]:
    """The status of the store's only experiment run and how many runs it committed."""
    (info,) = open_store(store).experiment_runs()
    return info.status, info.runs_done + info.runs_failed


def _press_once_after(arrivals: Arrivals, signum: int) -> threading.Thread:
    def press() -> None:
        if arrivals.reached.wait(120):
            os.kill(os.getpid(), signum)

    presser = threading.Thread(target=press, daemon=True)
    presser.start()
    return presser


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["serial", "threads", "processes"])
def test_one_ctrl_c_under_load_stops_every_time(tmp_path, backend, cpu_load):
    # Python drops a KeyboardInterrupt raised inside a finaliser; here the main thread spends most of its
    # time in one (the runs' data and a callback release resources), so a press that Python delivers as an
    # exception alone is lost almost every time.
    for attempt in range(20):
        store = tmp_path / f"store{attempt}"
        arrivals = Arrivals(after=5)
        presser = _press_once_after(arrivals, signal.SIGINT)
        experiment = long_experiment()
        result = experiment.run(backend=backend, workers=2, store=store, progress=False, callbacks=[arrivals])
        presser.join(5)
        assert result.interrupted, f"attempt {attempt}: the Ctrl-C went unnoticed"
        assert 5 <= len(result.records) < 2000
        assert _stored(store) == ("interrupted", len(result.records)), f"attempt {attempt}"


def test_a_second_ctrl_c_aborts_at_once(tmp_path):
    class Stalls:
        """A listener that takes its time over the third record (a slow callback)."""

        def __init__(self) -> None:
            self.count = 0
            self.stalling = threading.Event()

        def on_run_complete(self, record: object) -> None:
            self.count += 1
            if self.count == 3:
                self.stalling.set()
                for _ in range(600):  # 60 s of work
                    time.sleep(0.1)

    stalls = Stalls()

    def press_twice() -> None:
        if stalls.stalling.wait(120):
            os.kill(os.getpid(), signal.SIGINT)  # noted: the record is being stored, the run stops after it
            time.sleep(1)
            os.kill(os.getpid(), signal.SIGINT)  # the user insists: abort now

    presser = threading.Thread(target=press_twice, daemon=True)
    presser.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as info:
        long_experiment(replicates=50).run(store=tmp_path / "store", progress=False, callbacks=[stalls])
    presser.join(5)
    assert time.monotonic() - started < 30  # not after the 60 s callback
    assert info.value.result.interrupted and len(info.value.result.records) == 3
    assert _stored(tmp_path / "store") == ("interrupted", 3)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handler is back


SCRIPT = """
import sys
from tests.chaos.scenarios import long_experiment

result = long_experiment(replicates=2000, nap=0.01).run(backend=sys.argv[1], workers=2, store=sys.argv[2],
                                                         progress=False)
print("interrupted", result.interrupted, len(result.records), flush=True)
"""


def _wait_for_committed_runs(store: Path, count: int, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        try:
            if _stored(store)[1] >= count:
                return
        except Exception:  # noqa: BLE001 - the store is not created yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"{count} runs were not committed within 180 s")


@pytest.mark.parametrize(("backend", "group"), [("serial", False), ("processes", False), ("processes", True)],
                         ids=["serial", "processes", "processes-whole-group"])
def test_sigterm_commits_the_finished_runs_and_returns_the_partial_result(tmp_path, backend, group):
    store = tmp_path / "store"
    child = subprocess.Popen([sys.executable, "-c", SCRIPT, backend, str(store)], cwd=tmp_path, env=child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_committed_runs(store, 20, child)
        if group:  # a batch scheduler signals every process of the job, workers included
            os.killpg(child.pid, signal.SIGTERM)
        else:  # docker stop signals the main process
            child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 0, err[-2000:]
    flag, count = out.split()[1:]
    assert flag == "True"
    assert _stored(store) == ("interrupted", int(count))
    (info,) = open_store(store).experiment_runs()
    assert info.runs_failed == 0  # no run was recorded as failed because its worker got the signal too


def test_sigterm_to_the_command_exits_with_the_interrupted_status(tmp_path):
    command = Path(sys.executable).with_name("crystallize")
    store = tmp_path / "store"
    child = subprocess.Popen([str(command), "--store", str(store), "run", "tests.chaos.scenarios:long_experiment",
                              "--no-progress"], cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_committed_runs(store, 20, child)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err[-2000:]
    status, count = _stored(store)
    assert status == "interrupted" and count >= 20
    assert "run id:" in out


def test_ctrl_c_after_the_last_run_is_delivered_once_everything_is_committed(tmp_path):
    from crystallize import Hypothesis
    from crystallize.core.stat_test import StatisticalTest

    class PressesCtrlC(StatisticalTest):
        """A test during which the user presses Ctrl-C: every run has finished, the analysis is under way."""

        def run(self, baseline, treatment, *, alpha=0.05):  # type: ignore[no-untyped-def]
            os.kill(os.getpid(), signal.SIGINT)
            return {"p_value": 0.5, "significant": False}

    experiment = long_experiment(replicates=5)
    experiment.hypotheses = (Hypothesis("score", PressesCtrlC()),)
    with pytest.raises(KeyboardInterrupt):  # not swallowed: raised once the run is complete and committed
        experiment.run(store=tmp_path / "store", progress=False)
    assert _stored(tmp_path / "store") == ("completed", 10)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
