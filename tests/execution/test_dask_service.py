"""The worker's side of batches sent as Dask tasks, without a cluster."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from crystallize.core.plan import plan_runs
from crystallize.core.record import RunRecord
from crystallize.execution.errors import BackendError
from crystallize.execution.worker import ship

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


def test_a_batch_of_an_ended_experiment_run_is_refused_instead_of_waiting_for_it():
    sessions = dask_service._TaskSessions()
    assert ran(sessions.answer(message("a", 0, blob=True))) == 3
    assert ran(sessions.answer(message("a", 1))) == 3
    sessions.end("a")
    assert len(sessions) == 0
    with pytest.raises(BackendError, match="has ended"):
        sessions.answer(message("a", 2))


def test_an_idle_experiment_run_is_dropped_but_never_one_with_a_batch_running(monkeypatch):
    monkeypatch.setattr(dask_service, "_IDLE_FOR", 0.0)
    sessions = dask_service._TaskSessions()
    sessions.answer(message("idle", 0, blob=True))
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(sessions.answer(message("busy", 1))))
    waiting.start()  # it waits for its experiment, which comes with a later batch
    while "busy" not in sessions._open:  # the idle run is dropped as this one opens
        time.sleep(0.01)
    time.sleep(0.01)
    assert ran(sessions.answer(message("busy", 2, blob=True))) == 3
    waiting.join(5)
    assert [ran(a) for a in answers] == [3]
    with pytest.raises(BackendError, match="has ended"):
        sessions.answer(message("idle", 3))
