"""The SQLite schema of the run store, its version, and safe connections.

The store is one SQLite file in WAL mode, so readers never block the writer
and several processes may record into it at once. Every write transaction
starts with ``BEGIN IMMEDIATE`` (it takes the write lock up front, so it can
wait for it instead of failing half-way) and is retried while another process
holds the lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from crystallize.store.code import CODE_TABLES
from crystallize.store.errors import StoreDamagedError, StoreError, StoreVersionError, StoreWriteError
from crystallize.store.permissions import create_private_file
from crystallize.store.wal import check_wal

__all__ = ["DB_NAME", "SCHEMA_VERSION", "connect", "locate", "store_error", "transaction"]

log = logging.getLogger("crystallize")

T = TypeVar("T")

#: The schema this version writes (``PRAGMA user_version``); newer stores are refused.
SCHEMA_VERSION = 1

#: The database file inside a store folder.
DB_NAME = "store.db"

#: Seconds a statement waits for another process's write lock before retrying.
BUSY_TIMEOUT = 30.0
_RETRIES = 20

_DDL = """
CREATE TABLE IF NOT EXISTS experiments (
    fingerprint TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    created     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS experiment_runs (
    id          TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL REFERENCES experiments(fingerprint),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started     REAL NOT NULL,
    finished    REAL,
    seed        INTEGER NOT NULL,
    replicates  INTEGER NOT NULL,
    conditions  TEXT NOT NULL,
    provenance  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS experiment_runs_by_name ON experiment_runs (name, started);
CREATE INDEX IF NOT EXISTS experiment_runs_by_fingerprint ON experiment_runs (fingerprint, started);
CREATE TABLE IF NOT EXISTS runs (
    experiment_run_id TEXT NOT NULL REFERENCES experiment_runs(id),
    condition   TEXT NOT NULL,
    replicate   INTEGER NOT NULL,
    seed        INTEGER NOT NULL,
    status      TEXT NOT NULL,
    metrics     TEXT NOT NULL,
    params      TEXT NOT NULL,
    error       TEXT,
    duration    REAL NOT NULL,
    started     REAL NOT NULL,
    host        TEXT NOT NULL,
    steps       TEXT NOT NULL,
    artifacts   TEXT,
    attempts    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (experiment_run_id, condition, replicate)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verdicts (
    experiment_run_id TEXT NOT NULL REFERENCES experiment_runs(id),
    position    INTEGER NOT NULL,
    hypothesis  TEXT NOT NULL,
    treatment   TEXT NOT NULL,
    metric      TEXT NOT NULL,
    p_value     REAL,
    p_value_adjusted REAL,
    significant INTEGER NOT NULL,
    accepted    INTEGER NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (experiment_run_id, position)
);
"""

#: Added after schema version 1 without changing it (older versions ignore the table).
_LEASES = """
CREATE TABLE IF NOT EXISTS leases (
    experiment_run_id TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    heartbeat   REAL NOT NULL
)
"""

#: Also added after version 1: each look of a sequential experiment run, as it happens.
_LOOKS = """
CREATE TABLE IF NOT EXISTS looks (
    experiment_run_id TEXT NOT NULL,
    replicates  INTEGER NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (experiment_run_id, replicates)
)
"""


def store_error(path: Path, exc: sqlite3.Error, run_id: str | None = None) -> StoreError:
    """A one-line :class:`StoreError` naming ``path`` for an error of SQLite."""
    text = str(exc)
    lower = text.lower()
    if "readonly" in lower or "read-only" in lower:
        return StoreWriteError(str(path), f"the database is read-only ({text}); check the permissions of {path} "
                                          "and of its folder, or pass store= a folder you can write",
                               run_id=run_id)
    if "full" in lower:
        return StoreWriteError(str(path), f"the disk is full ({text}); free some space, or pass store= a folder "
                                          "on another disk", run_id=run_id)
    if "not a database" in lower or "malformed" in lower or "corrupt" in lower:
        return StoreDamagedError(str(path), f"{text}. Move it aside (mv {path} {path}.damaged) to start a new "
                                            "store there, or restore it from a backup")
    if "unable to open" in lower:
        return StoreWriteError(str(path), f"cannot open the database ({text}); check that its folder exists and "
                                          "that you can write it", run_id=run_id)
    return StoreError(f"the store {path}: {type(exc).__name__}: {text}")


def locate(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(folder, database file)`` of a store given as a folder or as a ``.db`` file.

    Raises:
        StoreError: ``path`` is empty, or an existing file that is no ``.db``.
    """
    if not str(os.fspath(path)).strip():
        raise StoreError(f"store={os.fspath(path)!r} is empty; pass a folder path (created if missing), None for "
                         "the default ./.crystallize, or False to record nothing")
    given = Path(path).expanduser().absolute()
    if given.suffix == ".db":
        return given.parent, given
    if given.exists() and not given.is_dir():
        raise StoreError(f"store={str(path)!r} is a file, not a folder; pass a folder (created if missing) "
                         "or the path of a .db file")
    return given, given / DB_NAME


def _locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _retry(path: Path, fn: Callable[[], T]) -> T:
    delay = 0.01
    for attempt in range(_RETRIES):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or attempt == _RETRIES - 1:
                raise
            log.debug("store %s is locked by another process; retrying in %.2f s", path, delay)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")  # pragma: no cover


def transaction(conn: sqlite3.Connection, path: Path, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn(conn)`` in one write transaction, retried while the database is locked.

    Raises:
        StoreError: SQLite failed (a full disk, a read-only or damaged file);
            the message names ``path``.
    """

    def attempt() -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            value = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the first error is the one to report
                    conn.execute("ROLLBACK")
            raise
        return value

    try:
        return _retry(path, attempt)
    except sqlite3.Error as exc:
        raise store_error(path, exc) from exc


def _check_version(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        conn.close()
        raise StoreVersionError(str(path), version, SCHEMA_VERSION)
    return version


def _create(conn: sqlite3.Connection) -> None:
    if int(conn.execute("PRAGMA user_version").fetchone()[0]) == 0:
        for statement in _DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute(_LEASES)
    conn.execute(_LOOKS)
    for statement in CODE_TABLES:  # also added after version 1: the experiment's code, kept with each run
        conn.execute(statement)


def _open(path: Path, create: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        version = _check_version(conn, path)
        if create and (version == 0 or conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'code_files'").fetchone() is None):
            _retry(path, lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            transaction(conn, path, _create)
            _check_version(conn, path)
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open the store database at ``path`` (WAL mode, long busy timeout).

    A new database file is created owner-only (SQLite gives its ``-wal`` and
    ``-shm`` files the same mode). A write-ahead log that SQLite's recovery
    would silently cut short is refused before SQLite opens it.

    Args:
        path: the ``store.db`` file.
        create: create the file and its tables when missing.

    Raises:
        StoreVersionError: the file was written by a newer crystallize.
        StoreDamagedError: the file or its write-ahead log is damaged.
        StoreError: SQLite cannot open it (the message names the path).
    """
    if create:
        try:
            create_private_file(path)
        except OSError as exc:
            raise StoreWriteError(str(path), f"cannot create the database: {exc}") from exc
    problem = check_wal(path)
    if problem is not None:
        raise StoreDamagedError(str(path), f"{problem}. SQLite would drop them silently on opening it: copy the "
                                           f"store folder aside first (cp -a {path.parent} {path.parent}.damaged); "
                                           f"to go on without them, move {path}-wal aside")
    try:
        return _open(path, create)
    except sqlite3.Error as exc:
        raise store_error(path, exc) from exc
