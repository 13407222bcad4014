"""Run specs in worker processes on this machine."""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from types import TracebackType

from crystallize.core.plan import RunSpec
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import run_batches
from crystallize.execution.process_pool import ProcessPool
from crystallize.execution.timeout_streak import DEFAULT_MAX_CONSECUTIVE_TIMEOUTS, TimeoutStreak, max_timeouts_iv
from crystallize.execution.worker import ship

__all__ = ["ProcessesBackend"]


class ProcessesBackend:
    """Runs on ``workers`` processes of this machine: true parallelism for
    pure-Python runs, and the same numbers as the serial backend (each run
    seeds its worker's ``random`` and NumPy globals).

    The experiment is pickled once with cloudpickle (lambdas and closures
    work) and loaded once per worker. A worker that dies fails only the run it
    was running (``WorkerDied``) and is replaced; a run past ``timeout`` is
    recorded with status ``"timeout"`` and interrupted in its worker (killed
    and replaced if it does not stop). After ``max_consecutive_timeouts``
    timeouts in a row with no run finishing in between, the experiment run
    stops with :class:`~crystallize.execution.errors.TooManyTimeoutsError`,
    keeping every record. On Ctrl-C the workers are killed and the finished
    runs kept.

    Created by ``backend="processes"``, the workers live for one experiment
    run. An instance you create keeps its workers warm between runs until
    :meth:`close` (or the end of a ``with`` block, or the program)::

        with ProcessesBackend(workers=4) as backend:
            first = experiment.run(backend=backend)
            second = other.run(backend=backend)

    Args:
        workers: worker processes (default: the number of CPUs).
        keep_alive: keep the workers between runs (default ``True``).
        max_consecutive_timeouts: timeouts in a row, none finishing in between,
            that stop the experiment run (default 10; ``None``: never stop).
    """

    name = "processes"

    def __init__(self, workers: int | None = None, *, keep_alive: bool = True,
                 max_consecutive_timeouts: int | None = DEFAULT_MAX_CONSECUTIVE_TIMEOUTS) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.keep_alive = keep_alive
        self.max_consecutive_timeouts = max_timeouts_iv(max_consecutive_timeouts)
        self._pool: ProcessPool | None = None
        self._finalizer: weakref.finalize | None = None

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec on the worker processes and ``emit`` each record."""
        shipped = ship(task, self.name)
        if self._pool is None:
            self._pool = ProcessPool(self.workers)
            self._finalizer = weakref.finalize(self, self._pool.close, cancel=True)
        pool = self._pool
        try:
            pool.load(shipped, len(specs))
            option = (f"backend=ProcessesBackend(workers={self.workers}, max_consecutive_timeouts=N) from "
                      "crystallize.execution (None: never stop)")
            streak = TimeoutStreak(emit, self.max_consecutive_timeouts, timeout, option)
            run_batches(pool, specs, streak, timeout=timeout)
        except BaseException:
            self.close(cancel=True)
            raise
        if not self.keep_alive:
            self.close()

    def close(self, *, cancel: bool = False) -> None:
        """Stop the worker processes (killing busy ones when ``cancel``)."""
        pool, self._pool = self._pool, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if pool is not None:
            pool.close(cancel=cancel)

    def __enter__(self) -> ProcessesBackend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(cancel=exc is not None)
