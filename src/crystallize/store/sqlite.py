"""The default run store: one SQLite file, written as runs finish.

Finished runs are buffered and committed together: when enough have
gathered, when the last commit is older than ``flush_interval`` seconds, and
at the latest ``flush_interval`` seconds after a run arrives (a timer), so
recording costs a few microseconds per run and a crash loses at most the
last fraction of a second; a run that took longer than ``flush_interval`` is
committed at once. The experiment run's row is committed at the start with
status ``"running"``; a process that dies leaves it so, with every committed
run intact, ready for ``resume=True``. While it runs, the process holds the
experiment run's lease (:mod:`crystallize.store.lease`).

A store that cannot be written (a full disk, a read-only file, a database
deleted or replaced mid-run) never stops the experiment nor loses what it
computed: the runs stay in memory, and :meth:`SQLiteStore.finish` raises a
:class:`~crystallize.store.errors.StoreWriteError` that names the path and
carries the whole result.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.core.provenance import VersionChange
from crystallize.core.record import RunRecord
from crystallize.store.artifacts import ArtifactFactory
from crystallize.store.cache import FileStepCache
from crystallize.store.code import CodeFile, code_objects, read_code_files, record_code_files
from crystallize.store.database import StoreDatabase
from crystallize.store.errors import DefinitionChangedError, StoreError, StoreWriteError
from crystallize.store.lease import Heartbeat, Lease
from crystallize.store.resume import (
    adopt_seed,
    describe_changes,
    environment_changes,
    latest_by_fingerprint,
    latest_by_name,
    warn_if_grown,
    warn_if_versions_changed,
)
from crystallize.store.rows import RUN_COLUMNS, UPSERT_RUN, dumps, record_from_row, run_row, verdict_row
from crystallize.store.run_ids import new_run_id
from crystallize.store.schema import locate

__all__ = ["SQLiteStore", "new_run_id"]

log = logging.getLogger("crystallize")

#: Longest wait between two attempts to record runs after the store failed.
_MAX_RETRY_SECONDS = 30.0


class SQLiteStore:
    """Records every run of every experiment run in ``<path>/store.db``.

    Beside the database, ``artifacts/`` holds the files runs save and
    ``cache/`` the step cache. Folders and the database are created
    owner-only; existing ones that other users can write are refused.

    Args:
        path: the store folder (default ``./.crystallize``), or a ``.db`` file.
        batch_size: commit as soon as this many runs are waiting.
        flush_interval: commit runs that have waited this many seconds.

    Raises:
        StoreError: ``path`` is empty, or a file that is no ``.db``.
        InsecureStoreError: the store, its cache or artifacts folder, or its
            database can be written by other users.
    """

    def __init__(self, path: str | os.PathLike[str] = ".crystallize", *, batch_size: int = 256,
                 flush_interval: float = 0.5) -> None:
        self.root, self.db_path = locate(path)
        self._db = StoreDatabase(self.root, self.db_path)
        self.batch_size = max(1, int(batch_size))
        self.flush_interval = float(flush_interval)
        self._cache = FileStepCache(str(self.root / "cache"))
        self._run_id: str | None = None
        self._buffer: list[tuple[Any, ...]] = []
        self._lock = self._db.lock
        self._timer: threading.Timer | None = None
        self._last_flush = time.monotonic()
        self._lease = Lease(self.db_path)
        self._heartbeat: Heartbeat | None = None
        self._failure: StoreError | None = None  # the last failed attempt to record runs
        self._retry_at = 0.0
        self._retry_delay = 0.0
        self._reported = False  # a StoreWriteError was raised to the caller

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.root)!r})"

    @property
    def run_id(self) -> str | None:
        """The experiment run being recorded (after :meth:`begin`)."""
        return self._run_id

    # -- the RunStore protocol -------------------------------------------------
    def resume_seed(self, experiment: Any) -> int | None:
        """The seed to adopt for a resumed experiment whose seed was drawn at random."""
        return self._db.read(lambda conn: adopt_seed(conn, experiment))  # type: ignore[no-any-return]

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
            ExperimentRunBusyError: ``resume=True`` and another live process
                is running the experiment run to continue.
            StoreError: the store cannot be read or written (names the path).
        """
        experiment = info["experiment"]
        provenance: dict[str, Any] = info["provenance"]
        code_files = read_code_files(code_objects(experiment))
        fingerprint = provenance["fingerprint"]
        conditions = list(dict.fromkeys(s.condition for s in planned))
        replicates = int(provenance.get("replicates", 1 + max((s.replicate for s in planned), default=-1)))
        now = time.time()
        self._last_flush = time.monotonic()
        with self._lock:
            if resume:
                earlier = self._db.read(lambda conn: latest_by_fingerprint(conn, fingerprint, experiment.name))
                if earlier is not None:
                    return self._continue(earlier.id, experiment.name, planned, replicates, conditions,
                                          provenance, code_files)
                changed = self._db.read(lambda conn: latest_by_name(conn, experiment.name))
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
                        self._lease.take(conn, run_id, experiment.name)
                        record_code_files(conn, run_id, code_files)
                        return run_id
                    except sqlite3.IntegrityError:  # pragma: no cover - a 48-bit collision
                        continue

            self._run_id = self._db.run_id = self._db.write(insert)
            self._heartbeat = Heartbeat(self._beat)
        log.info("recording experiment run %s of %r in %s", self._run_id, experiment.name, self.db_path)
        return self._run_id, []

    def _continue(self, run_id: str, name: str, planned: Sequence[RunSpec], replicates: int, conditions: list[str],
                  provenance: dict[str, Any], code_files: Sequence[CodeFile]) -> tuple[str, list[RunRecord]]:
        def reopen(conn: sqlite3.Connection) -> tuple[int, int, list[VersionChange]]:
            self._lease.take(conn, run_id, name)
            record_code_files(conn, run_id, code_files)  # a run stored before code was kept gets it now
            before, verdicts, stored = conn.execute(
                "SELECT replicates, (SELECT COUNT(*) FROM verdicts WHERE experiment_run_id = ?), provenance "
                "FROM experiment_runs WHERE id = ?", (run_id, run_id)).fetchone()
            changes, earlier = environment_changes(stored, provenance.get("environment"))
            if earlier:  # the run's provenance from now on keeps them (the result's too: it is the caller's dict)
                provenance["earlier_environments"] = earlier
            conn.execute("UPDATE experiment_runs SET status = 'running', finished = NULL, replicates = ?, "
                         "conditions = ?, provenance = ? WHERE id = ?",
                         (replicates, dumps(conditions), dumps(provenance), run_id))
            return int(before), int(verdicts), changes

        before, verdicts, changes = self._db.write(reopen)
        warn_if_versions_changed(run_id, name, changes)
        self._run_id = self._db.run_id = run_id
        self._heartbeat = Heartbeat(self._beat)
        if not provenance.get("definition", {}).get("sequential"):  # a sequential design may look as it grows
            warn_if_grown(run_id, name, before, replicates, verdicts)
        wanted = {(s.condition, s.replicate) for s in planned}

        def load(conn: sqlite3.Connection) -> list[RunRecord]:
            cursor = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE experiment_run_id = ? AND status = 'ok'",
                                  (run_id,))
            return [r for r in (record_from_row(row, str(self.db_path), run_id) for row in cursor)
                    if (r.condition, r.replicate) in wanted]

        done: list[RunRecord] = self._db.read(load)
        log.info("resuming experiment run %s: %d of %d runs already done", run_id, len(done), len(planned))
        return run_id, done

    def on_look(self, look: Mapping[str, Any]) -> None:
        """Record a look of a sequential experiment run at once, with the runs before it.

        Raises:
            StoreWriteError: it could not be written (names the path).
        """
        run_id = self._run_id
        if run_id is None:
            return
        row = (run_id, int(look["replicates"]), dumps(look))
        with self._lock:
            self._flush()
            self._db.write(lambda conn: conn.execute(
                "INSERT OR REPLACE INTO looks (experiment_run_id, replicates, data) VALUES (?, ?, ?)", row))

    def _beat(self) -> None:
        """Refresh this process's lease on the experiment run (from the heartbeat thread)."""
        run_id = self._run_id
        if run_id is None:
            return
        with self._lock:
            if self._db.is_open:
                self._db.write(lambda conn: self._lease.beat(conn, run_id))

    def on_run_complete(self, record: RunRecord) -> None:
        """Buffer ``record``; commit the buffer when it is full or old enough, or
        at once when the run took longer than ``flush_interval``.

        Never raises for a store that cannot be written: the rows stay
        buffered (and the records in the caller's result), the failure is
        logged once and retried now and then, and :meth:`finish` reports it.
        """
        if self._run_id is None:
            return
        row = run_row(self._run_id, record)
        with self._lock:
            self._buffer.append(row)
            if (len(self._buffer) >= self.batch_size or record.duration >= self.flush_interval
                    or time.monotonic() - self._last_flush >= self.flush_interval):
                self._try_flush()
            elif self._timer is None:
                self._timer = threading.Timer(self.flush_interval, self._flush_later)
                self._timer.daemon = True
                self._timer.start()

    def _flush_later(self) -> None:
        with self._lock:
            self._timer = None
            self._try_flush()

    def _try_flush(self) -> None:
        """Commit the buffer, or note why it cannot be (the caller holds the lock)."""
        if self._failure is not None and time.monotonic() < self._retry_at:
            return
        try:
            self._flush()
        except StoreError as exc:
            if self._failure is None:
                log.warning("could not record runs in %s: %s; the experiment goes on with every run kept in memory, "
                            "and the end of the experiment run reports what could not be stored",
                            self.db_path, getattr(exc, "detail", exc))
            self._failure = exc
            self._retry_delay = min(_MAX_RETRY_SECONDS, max(1.0, 2 * self._retry_delay))
            self._retry_at = time.monotonic() + self._retry_delay
        else:
            if self._failure is not None:
                log.warning("the store %s records runs again", self.db_path)
            self._failure = None
            self._retry_delay = 0.0

    def _flush(self) -> None:
        """Commit every buffered run (the caller holds the lock).

        Raises:
            StoreError: the rows could not be written; they stay buffered.
        """
        if not self._buffer:
            return
        rows = self._buffer
        self._buffer = []
        run_id = self._run_id

        def commit(conn: sqlite3.Connection) -> None:
            conn.executemany(UPSERT_RUN, rows)
            if run_id is not None:
                self._lease.beat(conn, run_id)

        try:
            self._db.write(commit)
        except BaseException:
            self._buffer = rows + self._buffer
            raise
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        """Commit every buffered run now.

        Raises:
            StoreError: they could not be written (they stay buffered).
        """
        with self._lock:
            self._flush()

    def finish(self, result: Any, *, status: str) -> None:
        """Commit the remaining runs, the verdicts and the final ``status``, and
        give up the lease.

        Raises:
            StoreWriteError: the store could not be written; the message names
                the path and the error carries ``result`` as ``.result``.
        """
        if self._run_id is None:
            return
        run_id = self._run_id
        rows = [verdict_row(run_id, i, v) for i, v in enumerate(getattr(result, "verdicts", ()))]
        provenance = getattr(result, "provenance", None)

        def close_run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM verdicts WHERE experiment_run_id = ?", (run_id,))
            conn.executemany("INSERT INTO verdicts (experiment_run_id, position, hypothesis, treatment, metric, "
                             "p_value, p_value_adjusted, significant, accepted, data) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("UPDATE experiment_runs SET status = ?, finished = ? WHERE id = ?",
                         (status, time.time(), run_id))
            if provenance is not None:  # what the run ended with (a sequential design's stop and looks)
                conn.execute("UPDATE experiment_runs SET provenance = ? WHERE id = ?", (dumps(provenance), run_id))
            self._lease.release(conn, run_id)

        with self._lock:
            self._stop_heartbeat()
            try:
                self._flush()
                self._db.write(close_run)
            except StoreError as exc:
                self._reported = True
                unsaved = f"{len(self._buffer)} runs could not be recorded: " if self._buffer else ""
                raise StoreWriteError(str(self.db_path), unsaved + str(getattr(exc, "detail", exc)),
                                      result=result, run_id=run_id) from exc
        log.info("experiment run %s %s", run_id, status)

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    @property
    def cache(self) -> FileStepCache:
        """The step cache in ``<store>/cache``."""
        return self._cache

    def artifacts(self, run_id: str | None) -> Callable[[RunSpec], Any] | None:
        """A picklable factory of each run's artifact sink (holds only paths)."""
        return ArtifactFactory(str(self.root), run_id, str(self.db_path)) if run_id is not None else None

    def close(self) -> None:
        """Commit what is buffered, give up the lease and close the database.

        A failure to commit is raised only when nothing else is: when the
        store already reported it (:meth:`finish`) or an exception is on its
        way out (``close`` called from a ``finally``), it is logged instead,
        so the original error, which carries the result, is the one seen.

        Raises:
            StoreWriteError: runs could not be committed, and nothing else reported it.
        """
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._stop_heartbeat()
            try:
                if self._db.is_open:
                    self._flush()
            except StoreError as exc:
                if self._reported or sys.exc_info()[1] is not None:
                    log.error("could not record %d runs in %s: %s", len(self._buffer), self.db_path,
                              getattr(exc, "detail", exc))
                else:
                    raise StoreWriteError(str(self.db_path), f"{len(self._buffer)} runs could not be recorded: "
                                          f"{getattr(exc, 'detail', exc)}", run_id=self._run_id) from exc
            finally:
                self._release()

    def _release(self) -> None:
        """Give up the lease if still held, and close the connection."""
        if not self._db.is_open:
            return
        run_id = self._run_id
        if run_id is not None:
            try:
                self._db.write(lambda conn: self._lease.release(conn, run_id))
            except StoreError:
                pass  # a lease that stays behind goes stale: its process is gone
        self._db.close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(f"{self!r} holds a database connection and cannot be pickled; "
                        "send store.cache or store.artifacts(run_id) to workers instead")
