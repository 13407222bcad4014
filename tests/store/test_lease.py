"""Leases: the lease of a process killed mid-run is taken over at once by the next resume."""

from __future__ import annotations

import signal

from .conftest import executions, wait_for


def test_the_lease_of_a_killed_process_is_taken_over_at_once(resume_process, log_dir, tmp_path):
    assert resume_process(2).wait(timeout=120) == 0
    holder = resume_process(6)
    wait_for(lambda: any(key[1] == 2 for key in executions(log_dir)))
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    (tmp_path / "go").touch()
    taker = resume_process(6)
    assert taker.wait(timeout=120) == 0, taker.stderr.read()
    assert "done 12" in taker.stdout.read()
    assert len(executions(log_dir)) == 12
