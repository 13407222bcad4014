"""Run batches on a ``concurrent.futures.Executor``: the pool behind the
threads backend, and the backend for an executor you pass yourself."""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from crystallize.core.plan import RunSpec
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import Lost, Outcome, run_batches
from crystallize.execution.worker import BatchResult, run_batch, run_shipped_batch, ship

__all__ = ["ExecutorBackend", "FuturesPool"]

BatchFn = Callable[[Sequence[RunSpec]], BatchResult]


class FuturesPool:
    """A :class:`~crystallize.execution.batching.Pool` over an executor.

    Args:
        executor: where batches run.
        run: runs one batch (in the worker).
        slots: batches that run at once.
        threads: the executor's workers are threads of this process: start
            times are measured exactly, and a timed-out run cannot be stopped.
    """

    def __init__(self, executor: Executor, run: BatchFn, slots: int, *, threads: bool) -> None:
        self.executor = executor
        self.slots = slots
        self.depth = 2 * slots
        self.target = 0.01 if threads else 0.05
        self._run = run
        self._threads = threads
        self._ids = itertools.count()
        self._futures: dict[Future[BatchResult], int] = {}
        self._starts: dict[int, float] = {}

    def _timed(self, handle: int, batch: Sequence[RunSpec]) -> BatchResult:
        self._starts[handle] = time.monotonic()
        return self._run(batch)

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Submit ``batch``; a broken executor yields a lost batch, not an error."""
        handle = next(self._ids)
        try:
            if self._threads:
                future = self.executor.submit(self._timed, handle, batch)
            else:
                self._starts[handle] = time.monotonic()
                future = self.executor.submit(self._run, batch)
        except BrokenExecutor as exc:
            future = Future()
            future.set_exception(exc)
        self._futures[future] = handle
        return handle

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Finished batches; a broken executor's batches come back as lost."""
        done, _ = wait_futures(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        out: list[tuple[Hashable, Outcome]] = []
        for future in done:
            handle = self._futures.pop(future)
            self._starts.pop(handle, None)
            try:
                out.append((handle, future.result()))
            except CancelledError:
                out.append((handle, Lost(False, "cancelled")))
            except BrokenExecutor as exc:
                out.append((handle, Lost(True, f"the executor's worker died ({type(exc).__name__}: {exc})",
                                         certain=False)))
        return out

    def started(self, handle: Hashable) -> float | None:
        """When the batch started (threads), or when it was submitted."""
        return self._starts.get(handle)  # type: ignore[call-overload]

    def kill(self, handle: Hashable) -> str:
        """Forget a timed-out batch: an executor cannot stop a running call."""
        for future, h in list(self._futures.items()):
            if h == handle:
                future.cancel()
                del self._futures[future]
        self._starts.pop(handle, None)  # type: ignore[call-overload]
        if self._threads:
            return "a thread cannot be stopped, so it runs on in the background and its result is discarded"
        return "the executor cannot stop a running call, so it runs on and its result is discarded"

    def cancel(self) -> None:
        """Cancel every batch not yet started."""
        for future in self._futures:
            future.cancel()


def _workers(executor: Executor) -> int:
    count = getattr(executor, "_max_workers", None)
    return count if isinstance(count, int) and count > 0 else os.cpu_count() or 1


class ExecutorBackend:
    """Runs on a ``concurrent.futures.Executor`` you created (and still own).

    A ``ThreadPoolExecutor`` runs the task directly (see the threads backend
    for what threads share). Any other executor (process pools, loky, ...)
    gets the experiment pickled once with cloudpickle; executors offer no
    per-worker setup after creation, so those bytes travel with each batch,
    but each worker process unpickles them only once. The executor is never
    shut down here. A timed-out run is recorded at its deadline, but the
    executor cannot stop it; on a thread pool its deadline counts from when a
    thread begins it, on other executors from when its batch is handed over
    (their workers cannot say when they begin). When a worker of a process pool dies, the pool is
    broken: every run it still held, and every later run, is recorded as
    failed (``WorkerDied``); pass ``backend="processes"`` to have dead workers
    replaced instead.

    Args:
        executor: the executor.
    """

    name = "executor"

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.name = f"executor:{type(executor).__name__}"

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec on the executor and ``emit`` each record."""
        threads = isinstance(self.executor, ThreadPoolExecutor)
        if threads:
            run: BatchFn = lambda batch: run_batch(task, batch)  # noqa: E731
        else:
            shipped = ship(task, self.name)
            run = functools.partial(run_shipped_batch, shipped.token, shipped.blob)
        pool = FuturesPool(self.executor, run, _workers(self.executor), threads=threads)
        try:
            run_batches(pool, specs, emit, timeout=timeout)
        finally:
            pool.cancel()
