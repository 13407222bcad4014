"""Timeouts on the processes backend: a timed-out run is interrupted in its worker (no
replacement), a run that will not stop gets its worker killed, and runs that all time
out stop the experiment run after ``max_consecutive_timeouts``, keeping every record."""

from __future__ import annotations

import pytest

from crystallize import Result
from crystallize.core.exceptions import CrystallizeError, ExperimentDefinitionError
from crystallize.execution import ProcessesBackend
from crystallize.execution.errors import TooManyTimeoutsError
from tests.execution.hangs import hanging


def _statuses(records):
    return {(r.condition, r.replicate): r.status for r in records}


def test_a_timed_out_run_is_interrupted_and_its_worker_goes_on(no_orphans):
    # one worker: every run, before and after the 3 timeouts, runs in the same process
    result = hanging(4, slow_hangs=True).run(backend=ProcessesBackend(workers=1), timeout=0.5, store=False,
                                            progress=False)
    statuses = _statuses(result.records)
    assert statuses == {**{("baseline", i): "ok" for i in range(4)}, **{("slow", i): "timeout" for i in range(4)}}
    assert len({r.metrics["pid"] for r in result.records if r.ok}) == 1
    timed_out = [r for r in result.records if r.status == "timeout"]
    assert all("timeout=0.5s; the run was interrupted; its worker process goes on" in r.error.message
               for r in timed_out)


def test_a_run_that_ignores_the_interrupt_has_its_worker_killed_and_replaced(no_orphans):
    result = hanging(3, slow_hangs=True, stubborn=True).run(backend=ProcessesBackend(workers=1), timeout=0.5,
                                                           store=False, progress=False)
    timed_out = [r for r in result.records if r.status == "timeout"]
    assert len(timed_out) == 3
    assert all("its worker process was killed and replaced" in r.error.message for r in timed_out)
    assert len({r.metrics["pid"] for r in result.records if r.ok}) == 3  # a new worker after each kill


def test_timeouts_in_a_row_stop_the_run_keeping_every_record(tmp_path, no_orphans):
    experiment = hanging(12, hang_from=3)  # 6 runs finish, then every run hangs
    with pytest.raises(TooManyTimeoutsError) as caught:
        experiment.run(backend=ProcessesBackend(workers=2, max_consecutive_timeouts=4), timeout=0.5,
                       store=str(tmp_path), progress=False)
    error = caught.value
    assert isinstance(error, CrystallizeError) and error.count == 4 and error.timeout == 0.5
    message = str(error)
    assert message.startswith("stopped after 4 runs in a row timed out (timeout=0.5s) with none finishing in between")
    assert "Every record is kept (6 runs finished, 4 timed out; exc.result;" in message
    assert message.endswith("allow more timeouts in a row with backend=ProcessesBackend(workers=2, "
                            "max_consecutive_timeouts=N) from crystallize.execution (None: never stop)")
    kept = _statuses(error.result.records)
    assert [k for k, s in kept.items() if s == "ok"] == [(c, r) for r in range(3) for c in ("baseline", "slow")]
    assert list(kept.values()).count("timeout") == 4 and len(kept) == 10  # the runs cut short are not recorded
    stored = Result.load(error.result.run_id, store=str(tmp_path))
    assert _statuses(stored.records) == kept


def test_a_finished_run_breaks_the_streak(no_orphans):
    # slow always hangs, baseline never: with one worker, timeouts and successes alternate
    backend = ProcessesBackend(workers=1, max_consecutive_timeouts=2)
    result = hanging(4, slow_hangs=True).run(backend=backend, timeout=0.5, store=False, progress=False)
    assert list(_statuses(result.records).values()).count("timeout") == 4


def test_without_a_limit_every_run_times_out(no_orphans):
    backend = ProcessesBackend(workers=2, max_consecutive_timeouts=None)
    result = hanging(6, hang_from=0).run(backend=backend, timeout=0.3, store=False, progress=False)
    assert set(_statuses(result.records).values()) == {"timeout"} and len(result.records) == 12


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_the_limit_is_checked(bad):
    with pytest.raises(ExperimentDefinitionError, match=rf"^max_consecutive_timeouts must be a whole number >= 1 "
                                                        rf"or None \(never stop\), got {bad!r}"):
        ProcessesBackend(max_consecutive_timeouts=bad)


def test_the_default_limit_stops_backend_processes(no_orphans):
    with pytest.raises(TooManyTimeoutsError, match="stopped after 10 runs in a row"):
        hanging(8, hang_from=0).run(backend="processes", workers=2, timeout=0.2, store=False, progress=False)
