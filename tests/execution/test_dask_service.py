"""The worker's side of batches sent as Dask tasks, without a cluster."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from crystallize.core.plan import plan_runs
from crystallize.core.record import RunRecord
from crystallize.execution.errors import BackendError
from crystallize.execution.worker import run_batch, ship

dask_service = pytest.importorskip("crystallize.execution.dask_service")

SPECS = plan_runs(1, ["baseline"], 3)


def record(spec):
    return RunRecord(spec.condition, spec.replicate, spec.seed, "ok", {"x": 1.0}, None, 0.0)


SHIPPED = ship(record, "dask")


def message(session: str, n: int, *, blob: bool = False) -> dict:
    sent = {"id": n, "token": SHIPPED.token, "session": session, "batch": pickle.dumps(SPECS)}
    return {**sent, "blob": SHIPPED.blob} if blob else sent


def ran(answer: dict) -> int:
    return len(pickle.loads(answer["result"]).records)


def test_a_batch_of_an_ended_experiment_run_is_skipped_instead_of_waiting_for_it():
    sessions = dask_service._TaskSessions()
    assert ran(sessions.answer(message("a", 0, blob=True))) == 3
    assert ran(sessions.answer(message("a", 1))) == 3
    sessions.end("a")
    assert len(sessions) == 0
    assert ran(sessions.answer(message("a", 2))) == 0  # started after its client left: skipped


def test_a_batch_whose_experiment_is_not_loaded_is_refused_instead_of_waiting_for_it():
    with pytest.raises(BackendError, match="not loaded"):
        dask_service._TaskSessions().answer(message("a", 0))


def test_an_idle_experiment_run_is_dropped_but_never_one_with_a_batch_running(monkeypatch):
    monkeypatch.setattr(dask_service, "_IDLE_FOR", 0.0)
    sessions = dask_service._TaskSessions()
    sessions.answer(message("idle", 0, blob=True))
    sessions.answer(message("busy", 1, blob=True))
    answers = []
    release = threading.Event()
    slow = message("busy", 2)
    slow["batch"] = pickle.dumps(SPECS[:1])

    def held(task, batch, stop):  # the one-run batch runs until released
        if len(batch) == 1:
            release.wait(5)
        return run_batch(task, batch, stop)

    monkeypatch.setattr(dask_service, "run_batch", held)
    running = threading.Thread(target=lambda: answers.append(sessions.answer(slow)))
    running.start()
    time.sleep(0.05)
    sessions.answer(message("new", 3, blob=True))  # opening a run drops the idle ones
    release.set()
    running.join(5)
    assert [ran(a) for a in answers] == [1]  # busy was kept: its batch ran to the end
    assert ran(sessions.answer(message("busy", 4))) == 3
    with pytest.raises(BackendError, match="dropped the experiment after 0 s without a batch"):
        sessions.answer(message("idle", 5))
