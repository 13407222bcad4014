"""A small pool of worker processes that knows which run each worker holds.

Unlike a ``concurrent.futures`` process pool, a worker that dies (segfault,
``os._exit``, the out-of-memory killer) takes down only the batch it held, and
a run past its timeout is stopped by killing just its worker; either way the
worker is replaced.

A run past its timeout is first interrupted inside its worker (``SIGUSR1``
raises :class:`RunAbandoned` in the run, as a ``KeyboardInterrupt`` would), and
the worker, still warm, takes the next run. Only a run that does not stop within
a second (stuck in C code that never returns to Python, or swallowing every
exception) has its worker killed and replaced: a replacement costs a fresh
interpreter importing crystallize and the experiment's modules (0.3 to 0.6 s on
two busy cores, against a few milliseconds for the interrupt), so from the first
kill on the pool keeps a spare worker started and loaded to take over at once.
Workers start with loky's ``fork`` + ``exec`` method: a
fresh interpreter that does not re-import ``__main__``, so scripts need no
``if __name__ == "__main__"`` guard. They ignore ``SIGINT`` and ``SIGTERM``:
Ctrl-C is handled once, in the calling process, which then stops them. They
die with the calling process, even when it is killed with ``SIGKILL`` (on
Linux through ``PR_SET_PDEATHSIG``, which ties a worker to the thread that
started it: a :class:`~crystallize.execution.ProcessesBackend` kept warm
across threads loses its workers when that thread ends, and starts others).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Hashable
from multiprocessing.connection import Connection, wait
from typing import Any

from loky.backend.context import get_context

from crystallize.core.plan import RunSpec
from crystallize.execution.batching import Lost, Outcome
from crystallize.execution.errors import BackendError
from crystallize.execution.worker import ShippedTask, dump_result, load_task, run_batch

__all__ = ["ProcessPool", "RunAbandoned", "serve"]

log = logging.getLogger("crystallize")

_MAX_START_DEATHS = 3  # workers dying before they loaded the experiment, in a row
_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
#: signals a process sends itself when its own code crashes (the others come from outside)
_CRASHES = {getattr(signal, n) for n in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT") if hasattr(signal, n)}
_EXIT_GRACE = 2.0  # seconds a worker whose connection broke may take to exit before its status is read
_INTERRUPT_GRACE = 1.0  # seconds an interrupted run may take to stop before its worker is killed
#: the signal that interrupts a run past its timeout (None where there is none: the worker is killed)
_INTERRUPT = getattr(signal, "SIGUSR1", None)


class RunAbandoned(BaseException):  # noqa: N818 - like KeyboardInterrupt: not an error of the run
    """Raised inside a worker's run when the run is past its timeout (a ``BaseException``,
    so that the run's own ``except Exception`` does not swallow it)."""


class _Running:
    """Whether this worker is inside a batch: an interrupt outside one is ignored."""

    now = False


def _abandon(signum: int, frame: Any) -> None:
    if _Running.now:
        raise RunAbandoned


def _run_interruptibly(task: Any, batch: list[RunSpec]) -> bytes:
    """The batch's pickled result, or a note that it was abandoned at its timeout."""
    try:
        _Running.now = True
        try:
            result = run_batch(task, batch)
        finally:
            _Running.now = False
    except RunAbandoned:
        return pickle.dumps(("abandoned",))
    return dump_result(result)


def _die_with(parent: int) -> None:
    """Make this worker die with its parent process (also when the parent is
    killed with SIGKILL and can stop nobody)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:  # no parent-death signal: a thread looks once a second
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="crystallize-parent-watch", daemon=True).start()
    if os.getppid() != parent:  # it died before we asked
        os._exit(1)


def serve(conn: Connection, parent: int) -> None:
    """A worker's loop: load tasks, run batches, send results, until told to stop.

    Ctrl-C and SIGTERM are the parent's to handle: it stops the workers itself
    (a SIGTERM sent to the whole process group would otherwise kill the runs
    in progress before the parent could end the experiment run cleanly). The
    worker dies with the parent, even one killed with SIGKILL.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    if _INTERRUPT is not None:
        signal.signal(_INTERRUPT, _abandon)
    _die_with(parent)
    task: Any = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None or os.getppid() != parent:
            return
        if message[0] == "task":
            try:
                task = load_task(message[1], message[2])
            except BackendError as exc:
                conn.send_bytes(pickle.dumps(("error", str(exc))))
                continue
            conn.send_bytes(pickle.dumps(("ready", message[1])))
        else:
            conn.send_bytes(_run_interruptibly(task, message[1]))


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}" + (" (e.g. the out-of-memory killer)" if name == "SIGKILL" else "")
    return f"exit code {code}" if code is not None else "unknown exit status"


def _start_failure(code: int | None, deaths: int) -> str:
    """Why workers keep dying before they have loaded the experiment, and what to do."""
    signum = -code if code is not None and code < 0 else None
    if signum is not None and signum not in _CRASHES:
        return (f"worker processes were killed ({_death(code)}) {deaths} times in a row while loading the "
                "experiment, from outside: by another process, or by the out-of-memory killer if the "
                "experiment is too large for the machine's memory")
    return (f"worker processes die while loading the experiment ({_death(code)}); check that its code "
            "imports cleanly in a fresh Python process")


def _kill(process: Any) -> None:
    """SIGKILL (loky's processes have no ``kill()``); ``terminate`` where there is none."""
    if process.exitcode is not None:
        return
    sigkill = getattr(signal, "SIGKILL", None)
    if sigkill is None:
        process.terminate()
        return
    try:
        os.kill(process.pid, sigkill)
    except ProcessLookupError:
        pass


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child, os.getpid()), daemon=True, name="crystallize-worker")
        self.process.start()
        child.close()
        self.token: str | None = None  # the task it has loaded
        self.held: int | None = None  # the batch it runs
        self.since: float | None = None  # when that batch started

    def reap(self) -> None:
        """Clean up after a worker whose connection broke, keeping its real exit status
        (not that of a SIGKILL sent while it was still exiting)."""
        self.process.join(_EXIT_GRACE)
        self.stop(kill=True)

    def stop(self, *, kill: bool) -> None:
        """Ask the worker to exit (or kill it) and wait for it."""
        if kill:
            _kill(self.process)
        else:
            try:
                self.conn.send(None)
            except OSError:
                _kill(self.process)
        self.process.join(5)
        if self.process.exitcode is None:
            _kill(self.process)
            self.process.join()
        self.conn.close()


class ProcessPool:
    """Worker processes for :class:`~crystallize.execution.processes.ProcessesBackend`
    (a :class:`~crystallize.execution.batching.Pool`).

    Args:
        size: worker processes running batches at once.
        spares: idle workers kept started and loaded once a worker has been killed
            for a timeout, to replace the next one at once.
        interrupt: stop a run past its timeout by interrupting it (``False``: kill
            its worker at once, as a run that does not stop is).
    """

    def __init__(self, size: int, *, spares: int = 1, interrupt: bool = True) -> None:
        self.size = self.slots = self.depth = size
        self.target = 0.05
        self.spares = spares
        self.interrupt = interrupt
        self._ctx = get_context("loky")
        self._workers: list[_Worker] = []
        self._task: ShippedTask | None = None
        self._ids = itertools.count()
        self._start_deaths = 0
        self._keep_spares = False  # set by the first kill
        self._interruptible = interrupt  # until a run does not stop when interrupted

    def load(self, task: ShippedTask, runs: int) -> None:
        """Make ``task`` current and start up to ``size`` workers for ``runs`` runs."""
        self._task = task
        self._start_deaths = 0
        self._interruptible = self.interrupt
        for worker in list(self._workers):
            self._send_task(worker)
        while len(self._workers) < min(self.size, max(runs, 1)):
            self._start()

    def _start(self) -> _Worker:
        worker = _Worker(self._ctx)
        self._workers.append(worker)
        self._send_task(worker)
        return worker

    def _send_task(self, worker: _Worker) -> bool:
        assert self._task is not None
        worker.token = None
        return self._send(worker, ("task", *self._task))

    def _send(self, worker: _Worker, message: Any) -> bool:
        """Send ``message``; a worker that died while idle is dropped (``False``)."""
        try:
            worker.conn.send(message)
        except OSError:
            self._workers.remove(worker)
            worker.reap()
            log.warning("an idle worker process had died (%s); starting another", _death(worker.process.exitcode))
            return False
        return True

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Send ``batch`` to an idle worker, starting one if needed."""
        while True:
            idle = [w for w in self._workers if w.held is None]
            worker = next((w for w in idle if w.token is not None), None) or (idle[0] if idle else self._start())
            worker.held = next(self._ids)
            worker.since = time.monotonic() if worker.token is not None else None
            if self._send(worker, ("run", batch)):
                return worker.held

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished or lost their worker within ``timeout`` seconds."""
        busy = {w.conn: w for w in self._workers if w.held is not None or w.token is None}
        out: list[tuple[Hashable, Outcome]] = []
        for ready in wait(list(busy), timeout):
            worker = busy[ready]  # type: ignore[index]
            try:
                message = pickle.loads(worker.conn.recv_bytes())  # noqa: S301 - from our own worker
            except (EOFError, OSError):
                self._died(worker, out)
                continue
            if isinstance(message, tuple) and message[0] == "ready":
                worker.token = message[1]
                self._start_deaths = 0
                if worker.held is not None:
                    worker.since = time.monotonic()
            elif isinstance(message, tuple) and message[0] == "error":
                raise BackendError(message[1])
            else:
                out.append((worker.held, message))
                worker.held = worker.since = None
        return out

    def _died(self, worker: _Worker, out: list[tuple[Hashable, Outcome]]) -> None:
        self._workers.remove(worker)
        worker.reap()
        how = _death(worker.process.exitcode)
        log.warning("a worker process died (%s); starting another", how)
        if worker.token is None:
            self._start_deaths += 1
            if self._start_deaths >= _MAX_START_DEATHS:
                raise BackendError(_start_failure(worker.process.exitcode, self._start_deaths))
        if worker.held is not None:
            started = worker.since is not None
            out.append((worker.held, Lost(started, f"the worker process running this run died ({how}); "
                                                   "the other runs went on")))

    def started(self, handle: Hashable) -> float | None:
        """When the batch's worker began it."""
        return next((w.since for w in self._workers if w.held == handle), None)

    def kill(self, handle: Hashable) -> str:
        """Stop the batch ``handle`` (past its timeout): interrupt it in its worker, which
        goes on; or, when it does not stop, kill the worker, replaced by a spare (kept from
        then on) while a new spare starts."""
        for worker in [w for w in self._workers if w.held == handle]:
            if self._interrupt(worker):
                worker.held = worker.since = None
                return "the run was interrupted; its worker process goes on"
            self._workers.remove(worker)
            worker.stop(kill=True)
        self._keep_spares = True
        self._top_up()
        return "its worker process was killed and replaced"

    def _interrupt(self, worker: _Worker) -> bool:
        """Interrupt the worker's run and wait for its answer (dropped: the run timed out)."""
        if _INTERRUPT is None or worker.token is None or not self._interruptible:
            return False
        try:
            os.kill(worker.process.pid, _INTERRUPT)
        except ProcessLookupError:
            return False
        try:
            if worker.conn.poll(_INTERRUPT_GRACE):
                worker.conn.recv_bytes()  # "abandoned", or the result of a run that ended meanwhile
                return True
        except (EOFError, OSError):
            return False  # it died: killed and replaced like any other
        self._interruptible = False  # it would not stop: the next ones are killed at once
        log.warning("a run past its timeout did not stop within %gs of being interrupted (stuck outside Python "
                    "code?); its worker is killed, as are those of later timeouts", _INTERRUPT_GRACE)
        return False

    def _top_up(self) -> None:
        """Start workers until ``size`` plus the spares are up (once spares are kept)."""
        if self._task is None or not self._keep_spares:
            return
        while len(self._workers) < self.size + self.spares:
            self._start()

    def close(self, *, cancel: bool) -> None:
        """Stop every worker: busy ones are killed when ``cancel``, idle ones exit."""
        workers, self._workers = self._workers, []
        for worker in workers:
            if cancel or worker.held is not None:
                _kill(worker.process)
        for worker in workers:
            worker.stop(kill=cancel or worker.held is not None)

    @property
    def alive(self) -> int:
        """Worker processes running now."""
        return len(self._workers)

