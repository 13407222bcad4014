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


HELD: set[str] = set()  # the load tasks whose result is on the worker (their client still holds them)


def message(session: str, n: int, *, blob: bool = False) -> dict:
    sent = {"id": n, "token": SHIPPED.token, "session": session, "load": f"load-{session}",
            "batch": pickle.dumps(SPECS)}
    if blob:
        HELD.add(f"load-{session}")
    return {**sent, "blob": SHIPPED.blob} if blob else sent


def answer(sessions, sent: dict) -> dict:
    return sessions.answer(sent, HELD.__contains__)


def ran(answer: dict) -> int:
    return len(pickle.loads(answer["result"]).records)


def test_a_batch_of_an_ended_experiment_run_is_refused_instead_of_waiting_for_it():
    sessions = dask_service._TaskSessions()
    assert ran(answer(sessions, message("a", 0, blob=True))) == 3
    assert ran(answer(sessions, message("a", 1))) == 3
    sessions.end("a")
    assert len(sessions) == 0
    with pytest.raises(BackendError, match="has ended"):
        answer(sessions, message("a", 2))


def test_a_batch_whose_experiment_is_not_loaded_is_refused_instead_of_waiting_for_it():
    with pytest.raises(BackendError, match="not loaded"):
        answer(dask_service._TaskSessions(), message("b", 0))


def test_a_run_whose_client_let_go_is_dropped_but_never_while_a_batch_of_it_runs(monkeypatch):
    sessions = dask_service._TaskSessions()
    answer(sessions, message("gone", 0, blob=True))
    answer(sessions, message("busy", 1, blob=True))
    answers = []
    release = threading.Event()
    slow = message("busy", 2)
    slow["batch"] = pickle.dumps(SPECS[:1])

    def held_up(task, batch, stop):  # the one-run batch runs until released
        if len(batch) == 1:
            release.wait(5)
        return run_batch(task, batch, stop)

    monkeypatch.setattr(dask_service, "run_batch", held_up)
    running = threading.Thread(target=lambda: answers.append(answer(sessions, slow)))
    running.start()
    time.sleep(0.05)
    HELD.difference_update({"load-gone", "load-busy"})  # both clients let go of their experiment
    answer(sessions, message("new", 3, blob=True))  # a batch of another run looks
    release.set()
    running.join(5)
    assert [ran(a) for a in answers] == [1]  # busy was kept while its batch ran, and ran to the end
    assert len(sessions) == 2
    with pytest.raises(BackendError, match="has ended"):
        answer(sessions, message("gone", 4))
