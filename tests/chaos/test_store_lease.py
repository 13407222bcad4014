"""Chaos 12.15: two processes resuming the same experiment run at once never both redo the
remaining runs: the first holds a lease (a heartbeat row), the second is refused; a lease
whose process died, or whose heartbeat stopped, is taken over."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crystallize.store import ExperimentRunBusyError

from ..store.conftest import executions, log_dir, make, resume_process, store_path, wait_for  # noqa: F401 - fixtures


def test_a_second_resume_of_a_running_experiment_run_is_refused_and_no_run_is_done_twice(resume_process, log_dir,
                                                                                        tmp_path):
    assert resume_process(2).wait(timeout=120) == 0
    holder = resume_process(6)  # resumes and extends it; its new runs wait for "go"
    wait_for(lambda: any(key[1] == 2 for key in executions(log_dir)))
    second = resume_process(6)
    try:
        second.wait(timeout=120)
    except subprocess.TimeoutExpired:  # it went on running runs as well
        pass
    (tmp_path / "go").touch()
    assert holder.wait(timeout=120) == 0, holder.stderr.read()
    holder_out = holder.stdout.read()
    second.wait(timeout=120)
    refusal = second.stderr.read()
    assert "done 12" in holder_out
    assert second.returncode != 0 and "ExperimentRunBusyError" in refusal
    assert "is being run by another process" in refusal and f"pid {holder.pid}" in refusal
    counts = executions(log_dir)
    assert len(counts) == 12 and set(counts.values()) == {1}, counts


def _lease(store_path: Path, host: str, pid: int, age: float) -> None:
    conn = sqlite3.connect(store_path / "store.db")
    with conn:
        conn.execute("INSERT OR REPLACE INTO leases (experiment_run_id, holder, host, pid, heartbeat) "
                     "SELECT id, 'someone', ?, ?, ? FROM experiment_runs", (host, pid, time.time() - age))
    conn.close()


def test_a_live_lease_from_another_host_is_respected_until_its_heartbeat_stops(store_path, log_dir):
    make(log_dir, replicates=2).run(store=store_path, progress=False)
    _lease(store_path, "another-host", 4242, age=5.0)
    with pytest.raises(ExperimentRunBusyError, match=r"pid 4242 on another-host, last heartbeat \d+ s ago"):
        make(log_dir, replicates=2).run(store=store_path, progress=False, resume=True)
    _lease(store_path, "another-host", 4242, age=3600.0)
    resumed = make(log_dir, replicates=2).run(store=store_path, progress=False, resume=True)
    assert resumed.provenance["resumed_runs"] == 4


def test_a_lease_of_a_process_of_this_host_that_ended_is_taken_over(store_path, log_dir):
    make(log_dir, replicates=2).run(store=store_path, progress=False)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    _lease(store_path, socket.gethostname(), ended.pid, age=1.0)
    resumed = make(log_dir, replicates=2).run(store=store_path, progress=False, resume=True)
    assert resumed.provenance["resumed_runs"] == 4
    conn = sqlite3.connect(store_path / "store.db")
    assert conn.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0  # given up when the run finished
    conn.close()
