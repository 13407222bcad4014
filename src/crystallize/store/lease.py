"""Leases: one live process per experiment run.

The process recording an experiment run holds its lease, a row of the
``leases`` table that it refreshes every :data:`HEARTBEAT_SECONDS` (and at
every commit). A second process that tries to resume the same experiment run
while the lease is live is refused, so two processes never both redo the
remaining runs. A lease is stale, and taken over, when its process is gone
(same host: the process id no longer runs) or when its heartbeat is older than
:data:`LEASE_TIMEOUT` (another host, or a process that hangs).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from crystallize.store.errors import ExperimentRunBusyError

__all__ = ["HEARTBEAT_SECONDS", "LEASE_TIMEOUT", "Heartbeat", "Lease"]

log = logging.getLogger("crystallize")

#: How often the holder refreshes its lease.
HEARTBEAT_SECONDS = 10.0
#: A lease whose heartbeat is older than this is stale.
LEASE_TIMEOUT = 60.0

_HOST = socket.gethostname()


def _running(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


class Lease:
    """This process's lease on experiment runs of one store.

    Args:
        path: the store's database file (for messages).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder = f"{_HOST}:{os.getpid()}:{secrets.token_hex(4)}"

    def take(self, conn: sqlite3.Connection, run_id: str, name: str) -> None:
        """Hold the lease on ``run_id`` (inside the caller's write transaction).

        Raises:
            ExperimentRunBusyError: another live process holds it.
        """
        row = conn.execute("SELECT holder, host, pid, heartbeat FROM leases WHERE experiment_run_id = ?",
                           (run_id,)).fetchone()
        now = time.time()
        if row is not None and row[0] != self.holder:
            holder, host, pid, heartbeat = row
            age = max(0.0, now - float(heartbeat))
            alive = age < LEASE_TIMEOUT and (host != _HOST or _running(int(pid)))
            if alive:
                raise ExperimentRunBusyError(str(self.path), run_id, name, f"pid {pid} on {host}", age,
                                             LEASE_TIMEOUT)
            log.info("taking over the lease on experiment run %s from pid %s on %s (%s)", run_id, pid, host,
                     "its heartbeat stopped" if age >= LEASE_TIMEOUT else "it is no longer running")
        conn.execute("INSERT OR REPLACE INTO leases (experiment_run_id, holder, host, pid, heartbeat) "
                     "VALUES (?, ?, ?, ?, ?)", (run_id, self.holder, _HOST, os.getpid(), now))

    def beat(self, conn: sqlite3.Connection, run_id: str) -> None:
        """Refresh the lease on ``run_id`` (inside the caller's write transaction)."""
        conn.execute("UPDATE leases SET heartbeat = ? WHERE experiment_run_id = ? AND holder = ?",
                     (time.time(), run_id, self.holder))

    def release(self, conn: sqlite3.Connection, run_id: str) -> None:
        """Give up the lease on ``run_id`` (inside the caller's write transaction)."""
        conn.execute("DELETE FROM leases WHERE experiment_run_id = ? AND holder = ?", (run_id, self.holder))


class Heartbeat:
    """A daemon thread calling ``beat()`` every ``interval`` seconds until stopped."""

    def __init__(self, beat: Callable[[], None], interval: float = HEARTBEAT_SECONDS) -> None:
        self._beat = beat
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="crystallize-store-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - a missed beat only ages the lease
                log.debug("could not refresh the store lease", exc_info=True)

    def stop(self) -> None:
        """Stop beating (returns once the thread has ended)."""
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
