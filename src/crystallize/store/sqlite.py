"""The default run store: one SQLite file, written as runs finish.

Finished runs are buffered and committed together: when enough have
gathered, when the last commit is older than ``flush_interval`` seconds, and
at the latest ``flush_interval`` seconds after a run arrives (a timer), so
recording costs a few microseconds per run and a crash loses at most the
last fraction of a second. The experiment run's row is committed at the start
with status ``"running"``; a process that dies leaves it so, with every
committed run intact, ready for ``resume=True``.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.store.artifacts import ArtifactFactory
from crystallize.store.cache import FileStepCache
from crystallize.store.errors import DefinitionChangedError
from crystallize.store.resume import adopt_seed, describe_changes, latest_by_fingerprint, latest_by_name
from crystallize.store.rows import RUN_COLUMNS, UPSERT_RUN, dumps, record_from_row, run_row, verdict_row
from crystallize.store.schema import connect, locate, transaction

__all__ = ["SQLiteStore", "new_run_id"]

log = logging.getLogger("crystallize")


def new_run_id() -> str:
    """A short random id: 12 hexadecimal characters (any unique prefix also names the run)."""
    return secrets.token_hex(6)


class SQLiteStore:
    """Records every run of every experiment run in ``<path>/store.db``.

    Beside the database, ``artifacts/`` holds the files runs save and
    ``cache/`` the step cache.

    Args:
        path: the store folder (default ``./.crystallize``), or a ``.db`` file.
        batch_size: commit as soon as this many runs are waiting.
        flush_interval: commit runs that have waited this many seconds.
    """

    def __init__(self, path: str | os.PathLike[str] = ".crystallize", *, batch_size: int = 256,
                 flush_interval: float = 0.5) -> None:
        self.root, self.db_path = locate(path)
        self.batch_size = max(1, int(batch_size))
        self.flush_interval = float(flush_interval)
        self._cache = FileStepCache(str(self.root / "cache"))
        self._conn: sqlite3.Connection | None = None
        self._run_id: str | None = None
        self._buffer: list[tuple[Any, ...]] = []
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._last_flush = time.monotonic()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.root)!r})"

    @property
    def run_id(self) -> str | None:
        """The experiment run being recorded (after :meth:`begin`)."""
        return self._run_id

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._conn = connect(self.db_path, create=True)
        return self._conn

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            return transaction(self._connect(), self.db_path, fn)

    # -- the RunStore protocol -------------------------------------------------
    def resume_seed(self, experiment: Any) -> int | None:
        """The seed to adopt for a resumed experiment whose seed was drawn at random."""
        with self._lock:
            return adopt_seed(self._connect(), experiment)

    def begin(
        self, info: Mapping[str, Any], planned: Sequence[RunSpec], *, resume: bool
    ) -> tuple[str | None, list[RunRecord]]:
        """Open an experiment run (or continue one with ``resume=True``).

        Returns:
            The experiment run's id and, when resuming, the successful runs
            already recorded among ``planned``.

        Raises:
            DefinitionChangedError: ``resume=True`` and the newest run of this
                name has another definition (the message lists what changed).
        """
        experiment = info["experiment"]
        provenance = dict(info["provenance"])
        fingerprint = provenance["fingerprint"]
        conditions = list(dict.fromkeys(s.condition for s in planned))
        replicates = int(provenance.get("replicates", 1 + max((s.replicate for s in planned), default=-1)))
        now = time.time()
        self._last_flush = time.monotonic()
        with self._lock:
            conn = self._connect()
            if resume:
                earlier = latest_by_fingerprint(conn, fingerprint, experiment.name)
                if earlier is not None:
                    return self._continue(earlier.id, planned, replicates, conditions, provenance)
                changed = latest_by_name(conn, experiment.name)
                if changed is not None:
                    raise DefinitionChangedError(
                        experiment.name, changed.id,
                        describe_changes(changed.definition, provenance["definition"],
                                         seed_given=bool(getattr(experiment, "seed_given", True))))
                log.info("resume=True: no earlier run of experiment %r to resume; starting a new experiment run",
                         experiment.name)

            def insert(conn: sqlite3.Connection) -> str:
                conn.execute("INSERT OR IGNORE INTO experiments (fingerprint, name, definition, created) "
                             "VALUES (?, ?, ?, ?)", (fingerprint, experiment.name, dumps(provenance["definition"]), now))
                while True:
                    run_id = new_run_id()
                    try:
                        conn.execute(
                            "INSERT INTO experiment_runs (id, fingerprint, name, status, started, finished, seed, "
                            "replicates, conditions, provenance) VALUES (?, ?, ?, 'running', ?, NULL, ?, ?, ?, ?)",
                            (run_id, fingerprint, experiment.name, now, int(experiment.seed), replicates,
                             dumps(conditions), dumps(provenance)))
                        return run_id
                    except sqlite3.IntegrityError:  # pragma: no cover - a 48-bit collision
                        continue

            self._run_id = self._write(insert)
        log.info("recording experiment run %s of %r in %s", self._run_id, experiment.name, self.db_path)
        return self._run_id, []

    def _continue(self, run_id: str, planned: Sequence[RunSpec], replicates: int, conditions: list[str],
                  provenance: Mapping[str, Any]) -> tuple[str, list[RunRecord]]:
        self._write(lambda conn: conn.execute(
            "UPDATE experiment_runs SET status = 'running', finished = NULL, replicates = ?, conditions = ?, "
            "provenance = ? WHERE id = ?", (replicates, dumps(conditions), dumps(provenance), run_id)))
        wanted = {(s.condition, s.replicate) for s in planned}
        rows = self._connect().execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE experiment_run_id = ? AND status = 'ok'", (run_id,)).fetchall()
        done = [r for r in map(record_from_row, rows) if (r.condition, r.replicate) in wanted]
        self._run_id = run_id
        log.info("resuming experiment run %s: %d of %d runs already done", run_id, len(done), len(planned))
        return run_id, done

    def on_run_complete(self, record: RunRecord) -> None:
        """Buffer ``record``; commit the buffer when it is full or old enough."""
        if self._run_id is None:
            return
        row = run_row(self._run_id, record)
        with self._lock:
            self._buffer.append(row)
            if len(self._buffer) >= self.batch_size or time.monotonic() - self._last_flush >= self.flush_interval:
                self._flush()
            elif self._timer is None:
                self._timer = threading.Timer(self.flush_interval, self._flush_later)
                self._timer.daemon = True
                self._timer.start()

    def _flush_later(self) -> None:
        with self._lock:
            self._timer = None
            try:
                self._flush()
            except Exception:  # noqa: BLE001 - the rows stay buffered and the next flush retries
                log.exception("could not record runs in %s; will retry", self.db_path)

    def _flush(self) -> None:
        """Commit every buffered run (the caller holds the lock)."""
        if not self._buffer:
            return
        rows = self._buffer
        self._buffer = []
        try:
            self._write(lambda conn: conn.executemany(UPSERT_RUN, rows))
        except BaseException:
            self._buffer = rows + self._buffer
            raise
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        """Commit every buffered run now."""
        with self._lock:
            self._flush()

    def finish(self, result: Any, *, status: str) -> None:
        """Commit the remaining runs, the verdicts and the final ``status``."""
        if self._run_id is None:
            return
        run_id = self._run_id
        rows = [verdict_row(run_id, i, v) for i, v in enumerate(getattr(result, "verdicts", ()))]

        def close_run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM verdicts WHERE experiment_run_id = ?", (run_id,))
            conn.executemany("INSERT INTO verdicts (experiment_run_id, position, hypothesis, treatment, metric, "
                             "p_value, p_value_adjusted, significant, accepted, data) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("UPDATE experiment_runs SET status = ?, finished = ? WHERE id = ?",
                         (status, time.time(), run_id))

        with self._lock:
            self._flush()
            self._write(close_run)
        log.info("experiment run %s %s", run_id, status)

    @property
    def cache(self) -> FileStepCache:
        """The step cache in ``<store>/cache``."""
        return self._cache

    def artifacts(self, run_id: str | None) -> Callable[[RunSpec], Any] | None:
        """A picklable factory of each run's artifact sink (holds only paths)."""
        return ArtifactFactory(str(self.root), run_id) if run_id is not None else None

    def close(self) -> None:
        """Commit what is buffered and close the database."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            try:
                if self._conn is not None:
                    self._flush()
            finally:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(f"{self!r} holds a database connection and cannot be pickled; "
                        "send store.cache or store.artifacts(run_id) to workers instead")
