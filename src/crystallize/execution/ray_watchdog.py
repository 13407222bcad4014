"""Stop every process of a local Ray that crystallize started, even when the
program that started it is killed.

On Linux, Ray ties its head processes (GCS, raylet, monitors) to the driver
with ``PR_SET_PDEATHSIG``, but the raylet's own children (the dashboard agent,
the runtime-env agent) are not tied to anything: after a ``SIGKILL`` of the
driver they run on for good. So when the Ray backend starts a Ray, it also
starts this watchdog: a small process that learns Ray's head processes, keeps
a list of all their descendants while the driver lives, and kills whichever
are left when the driver goes away (its standard input closes) or the run
ends. Elsewhere Ray's own reaper (a process-group kill) does the job and no
watchdog is started.

It runs as a script (``python -I ray_watchdog.py``: the standard library only,
nothing of crystallize is imported); the driver writes the head processes'
pids on one line of its standard input, then keeps it open.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterable

__all__ = ["RayWatchdog", "ray_children"]

_LOOK_EVERY = 0.5  # seconds between two looks at the process table
_PROC = "/proc"


def _stat(pid: int) -> tuple[int, int] | None:
    """``(parent pid, start time)`` of ``pid`` from ``/proc``, or ``None`` if it is gone."""
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19])


def _table() -> dict[int, tuple[int, int]]:
    """Every process: pid -> (parent pid, start time)."""
    table = {}
    for entry in os.listdir(_PROC):
        if entry.isdigit() and (info := _stat(int(entry))) is not None:
            table[int(entry)] = info
    return table


def _is_ray(pid: int) -> bool:
    try:
        with open(f"{_PROC}/{pid}/cmdline", "rb") as cmdline:
            return b"ray" in cmdline.read()
    except OSError:
        return False


def ray_children(pid: int) -> set[int]:
    """The direct children of ``pid`` that belong to Ray (Linux; empty elsewhere)."""
    if not os.path.isdir(_PROC):
        return set()
    return {child for child, (parent, _) in _table().items() if parent == pid and _is_ray(child)}


def _descendants(roots: Iterable[int], table: dict[int, tuple[int, int]]) -> set[int]:
    found = set(r for r in roots if r in table)
    frontier = set(found)
    while frontier:
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier and pid not in found}
        found |= frontier
    return found


def _watch(roots: set[int]) -> None:
    """Remember the descendants of ``roots`` until standard input closes; then kill them."""
    seen: dict[int, int] = {}  # pid -> start time, so that a reused pid is never killed
    while True:
        table = _table()
        for pid in _descendants(roots | set(seen), table):
            seen.setdefault(pid, table[pid][1])
        readable, _, _ = select.select([sys.stdin], [], [], _LOOK_EVERY)
        if readable and not os.read(sys.stdin.fileno(), 4096):
            break  # the driver closed it, or died
    for pid, started in seen.items():
        info = _stat(pid)
        if info is not None and info[1] == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def main() -> None:
    """The watchdog process."""
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C and SIGTERM go to the driver, which ends the run
        signal.signal(signum, signal.SIG_IGN)
    line = sys.stdin.readline()
    _watch({int(pid) for pid in line.split()})


class RayWatchdog:
    """The driver's handle on a watchdog process (see the module doc).

    Args:
        roots: the pids of the Ray head processes the driver started.
    """

    def __init__(self, roots: Iterable[int]) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own module, this interpreter
            [sys.executable, "-I", __file__], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, close_fds=True)
        assert self._process.stdin is not None
        self._process.stdin.write(" ".join(map(str, roots)).encode() + b"\n")
        self._process.stdin.flush()

    @classmethod
    def start(cls, roots: Iterable[int]) -> RayWatchdog | None:
        """A watchdog of ``roots`` where one is needed (Linux), else ``None``."""
        pids = list(roots)
        if not sys.platform.startswith("linux") or not pids:
            return None
        return cls(pids)

    def close(self, wait: float = 10.0) -> None:
        """End the watch: whatever is left of Ray is killed."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(wait)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


if __name__ == "__main__":
    main()
