"""Chaos 12.13: a run that took longer than the flush interval is committed at once, never
left waiting in memory for the timer (a process dying then would lose an hour of work)."""

from __future__ import annotations

import sqlite3

from crystallize.core.record import RunRecord
from crystallize.store import SQLiteStore

from ..store.conftest import log_dir, make, store_path  # noqa: F401 - fixtures


def _committed(store_path) -> int:
    conn = sqlite3.connect(store_path / "store.db")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    finally:
        conn.close()


def test_a_run_longer_than_the_flush_interval_is_committed_before_on_run_complete_returns(store_path, log_dir):
    store = SQLiteStore(store_path, batch_size=1000, flush_interval=3600)
    experiment = make(log_dir)
    store.begin({"experiment": experiment, "provenance": experiment.provenance()}, experiment.plan(), resume=False)
    try:
        store.on_run_complete(RunRecord("baseline", 0, 1, "ok", {"score": 1.0}, duration=0.01))
        assert _committed(store_path) == 0  # a quick run waits for its batch, as before
        store.on_run_complete(RunRecord("baseline", 1, 2, "ok", {"score": 2.0}, duration=7200.0))
        assert _committed(store_path) == 2  # the two-hour run (and what waited with it) is on disk now
    finally:
        store.close()
