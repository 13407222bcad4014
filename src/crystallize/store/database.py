"""The writer's connection to a store's database: created owner-only, checked before every write.

A store folder that other users can write is refused (see
:mod:`crystallize.store.permissions`). Before each write transaction the
database file is checked to be the one opened: a file deleted or replaced
while the experiment runs would otherwise take every later row into an
unlinked file while the run reports success.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crystallize.store.errors import StoreWriteError
from crystallize.store.permissions import check_private, make_private_dirs
from crystallize.store.schema import connect, store_error, transaction

__all__ = ["StoreDatabase"]


class StoreDatabase:
    """One connection to ``db_path`` in the store folder ``root``, opened on first use.

    Every method may be called from any thread; they share one re-entrant lock.

    Args:
        root: the store folder.
        db_path: the database file.

    Raises:
        InsecureStoreError: the store, its cache or artifacts folder, or the
            database can be written by other users.
    """

    def __init__(self, root: Path, db_path: Path) -> None:
        self.root = root
        self.path = db_path
        self.lock = threading.RLock()
        self.run_id: str | None = None  # named in errors once an experiment run is recorded
        self._conn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the database when opened
        self.check_permissions()

    @property
    def is_open(self) -> bool:
        """Whether the connection is open."""
        return self._conn is not None

    def check_permissions(self) -> None:
        """Refuse the store when other users can write its folders or database."""
        check_private(self.root, "store folder")
        check_private(self.root / "cache", "step cache folder")
        check_private(self.root / "artifacts", "artifacts folder")
        check_private(self.path, "store database")

    def connection(self) -> sqlite3.Connection:
        """The open connection (the store folder and database are created if missing)."""
        with self.lock:
            if self._conn is None:
                try:
                    make_private_dirs(self.root)
                except OSError as exc:
                    raise StoreWriteError(str(self.path), f"cannot create the store folder: {exc}") from exc
                self.check_permissions()
                self._conn = connect(self.path, create=True)
                info = os.stat(self.path)
                self._file = (info.st_dev, info.st_ino)
            return self._conn

    def _check_file(self) -> None:
        if self._file is None:
            return
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            what = "deleted"
        else:
            if (info.st_dev, info.st_ino) == self._file:
                return
            what = "replaced by another file"
        raise StoreWriteError(str(self.path), f"the database file was {what} while the experiment was running, "
                                              "so the runs recorded in it so far are gone with it",
                              run_id=self.run_id)

    def write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn(conn)`` in one write transaction.

        Raises:
            StoreWriteError: the file was deleted or replaced since it was
                opened, or the disk is full, or it is read-only.
            StoreError: any other failure of SQLite (the message names the path).
        """
        with self.lock:
            conn = self.connection()
            self._check_file()
            return transaction(conn, self.path, fn)

    def read(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Return ``fn(conn)``, with SQLite's errors turned into one-line store errors."""
        with self.lock:
            conn = self.connection()
            try:
                return fn(conn)
            except sqlite3.Error as exc:
                raise store_error(self.path, exc, self.run_id) from exc

    def close(self) -> None:
        """Close the connection (it is opened again on next use)."""
        with self.lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
