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
from crystallize.execution.worker import ship

__all__ = ["ProcessesBackend"]


class ProcessesBackend:
    """Runs on ``workers`` processes of this machine: true parallelism for
    pure-Python runs, and the same numbers as the serial backend (each run
    seeds its worker's ``random`` and NumPy globals).

    The experiment is pickled once with cloudpickle (lambdas and closures
    work) and loaded once per worker. A worker that dies fails only the run it
    was running (``WorkerDied``) and is replaced; a run past ``timeout`` is
    recorded with status ``"timeout"`` and its worker killed and replaced.
    On Ctrl-C the workers are killed and the finished runs kept.

    Created by ``backend="processes"``, the workers live for one experiment
    run. An instance you create keeps its workers warm between runs until
    :meth:`close` (or the end of a ``with`` block, or the program)::

        with ProcessesBackend(workers=4) as backend:
            first = experiment.run(backend=backend)
            second = other.run(backend=backend)

    Args:
        workers: worker processes (default: the number of CPUs).
        keep_alive: keep the workers between runs (default ``True``).
    """

    name = "processes"

    def __init__(self, workers: int | None = None, *, keep_alive: bool = True) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.keep_alive = keep_alive
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
            run_batches(pool, specs, emit, timeout=timeout)
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
