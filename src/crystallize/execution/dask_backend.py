"""Run specs on a Dask cluster (``pip install "crystallize[dask]"``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import time
from collections.abc import Hashable, Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import Lost, Outcome, run_batches
from crystallize.execution.errors import MissingExtraError
from crystallize.execution.worker import ShippedTask, run_shipped_batch, ship

try:
    import distributed
    from distributed import KilledWorker
except ImportError as exc:  # pragma: no cover - exercised by a monkeypatched import
    raise MissingExtraError("dask", "Dask's distributed scheduler", "dask") from exc

__all__ = ["DaskBackend", "DaskPool", "local_client"]

log = logging.getLogger("crystallize")


def _hold(blob: bytes) -> bytes:
    """Keeps the pickled experiment in a worker's memory."""
    return blob


class DaskPool:
    """Batches as Dask futures (a :class:`~crystallize.execution.batching.Pool`).

    The pickled experiment is sent to the cluster once, as a task every batch
    depends on; workers fetch it from each other, and each worker process
    unpickles it once. Each batch goes to the worker with the fewest batches
    per thread (a loose restriction: another worker takes it if that one is
    gone), so that every worker holds one batch to run next and none idles
    while another has a queue.
    """

    def __init__(self, client: Any, task: ShippedTask) -> None:
        self.client = client
        if not client.nthreads():
            client.wait_for_workers(1)
        self._threads: dict[str, int] = dict(client.nthreads())
        self._load = dict.fromkeys(self._threads, 0)
        self.slots = max(1, sum(self._threads.values()))
        self.depth = 2 * self.slots
        self.target = 0.2
        self._task = task
        self._data = self._hold(task)
        self._futures: dict[str, Any] = {}
        self._starts: dict[str, float] = {}
        self._where: dict[str, str] = {}
        self._collateral: set[str] = set()  # batches on a worker we restarted
        self._done: queue.Queue[Any] = queue.Queue()

    def _hold(self, task: ShippedTask) -> Any:
        # A task rather than scattered data: the scheduler keeps its spec, so a
        # worker that dies holding the only copy costs a recomputation, not the run.
        return self.client.submit(_hold, task.blob, key=f"crystallize-task-{task.token}", pure=False)

    def _refresh(self) -> None:
        """Take in workers that joined (a restarted worker has a new address)."""
        self._threads = dict(self.client.nthreads()) or self._threads
        self._load = {w: self._load.get(w, 0) for w in self._threads}

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Submit ``batch`` as one task, to the least loaded worker."""
        worker = min(self._load, key=lambda w: self._load[w] / self._threads[w])
        future = self.client.submit(run_shipped_batch, self._task.token, self._data, batch, pure=False,
                                    workers=[worker], allow_other_workers=True)
        self._load[worker] += 1
        self._where[future.key] = worker
        self._futures[future.key] = future
        self._starts[future.key] = time.monotonic()
        future.add_done_callback(self._done.put)
        return future.key

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished within ``timeout`` seconds."""
        try:
            finished = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while not self._done.empty():
            finished.append(self._done.get_nowait())
        return [out for f in finished if (out := self._outcome(f)) is not None]

    def _release(self, key: str) -> None:
        worker = self._where.pop(key, None)
        if worker in self._load:
            self._load[worker] -= 1

    def _outcome(self, future: Any) -> tuple[Hashable, Outcome] | None:
        key = future.key
        if self._futures.pop(key, None) is None:
            return None  # killed after a timeout
        self._starts.pop(key, None)
        self._release(key)
        try:
            if future.status == "finished":
                return key, future.result()
            error = future.exception() if future.status == "error" else None
        except (CancelledError, asyncio.CancelledError):
            error = None
        if error is None:  # cancelled, or the result was lost with its worker before we fetched it
            return key, Lost(False, "cancelled by the scheduler")
        if isinstance(error, KilledWorker):
            self._refresh()
            if key in self._collateral:
                return key, Lost(False, "its worker was restarted")
            return key, Lost(True, f"the Dask worker running this run died ({error})", certain=False)
        raise error

    def started(self, handle: Hashable) -> float | None:
        """When the batch was submitted (with one batch per worker thread in flight, when it started)."""
        return self._starts.get(handle)  # type: ignore[call-overload]

    def kill(self, handle: Hashable) -> str:
        """Cancel the batch and restart the worker running it."""
        future = self._futures.pop(handle, None)  # type: ignore[call-overload]
        self._starts.pop(handle, None)  # type: ignore[call-overload]
        self._release(handle)  # type: ignore[arg-type]
        where = [w for w, keys in self.client.processing().items() if handle in keys]
        for worker in where:
            self._collateral.update(self.client.processing([worker]).get(worker, ()))
        if future is not None:
            future.cancel()
        if not where:
            return "its Dask task was cancelled"
        status = self.client.restart_workers(where, raise_for_error=False)
        if any(v != "OK" for v in status.values()):
            log.warning("could not restart Dask worker %s after a timeout: %s", where, status)
            return "its Dask task was cancelled, but its worker could not be restarted and runs on"
        self._refresh()
        return "its Dask worker was restarted"

    def close(self) -> None:
        """Cancel every batch still in flight and release the experiment."""
        if self._futures:
            self.client.cancel(list(self._futures.values()))
        self._futures.clear()
        self.client.cancel([self._data])


@contextlib.contextmanager
def local_client(workers: int) -> Iterator[Any]:
    """A client of a LocalCluster of ``workers`` single-threaded processes, both
    closed afterwards: what ``backend="dask"`` starts when there is no client.

    A worker death fails its tasks at once (``allowed-failures: 0``): the
    scheduling loop re-runs the runs of a failed batch one by one itself. The
    workers' statistical profiler (a thread sampling every 10 ms, for a
    dashboard nobody watches here) is off.
    """
    import dask  # noqa: PLC0415

    settings = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.worker.profile.enabled": False,
        # batches are already placed on the least loaded worker: stealing them back costs scheduler CPU
        "distributed.scheduler.work-stealing": False,
        "distributed.admin.system-monitor.interval": "2s",
        # event-loop and memory watchdogs wake every 20-100 ms in every process; slower is plenty here
        "distributed.admin.tick.interval": "500ms",
        "distributed.worker.memory.monitor-interval": "1s",
    }
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    try:
        client = distributed.Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


class DaskBackend:
    """Runs on Dask: a client you pass, else the default client, else a
    ``LocalCluster`` started for this experiment run and closed after it.

    A client passed in (or the default one) is used and never closed. The
    experiment is pickled once with cloudpickle and sent to the cluster once.
    A worker that dies fails only the run it was running (``WorkerDied``); on a
    cluster of your own, Dask first retries a task whose worker died on other
    workers (``distributed.scheduler.allowed-failures``, 3 by default).
    ``timeout``: the task is cancelled and its worker restarted through its
    nanny (timeouts count from submission; as many batches as worker threads
    are in flight, so that is when they start). On Ctrl-C the batches in
    flight are cancelled; on a cluster of your own, a run already executing
    finishes in its worker thread and its result is dropped. Dask starts the
    LocalCluster's workers by re-importing the main module, so a script that
    uses ``backend="dask"`` needs the usual ``if __name__ == "__main__":``.

    Args:
        client: a connected ``dask.distributed.Client``.
        workers: worker processes of the LocalCluster (default: the number of CPUs).
    """

    name = "dask"

    def __init__(self, client: Any = None, *, workers: int | None = None) -> None:
        self.client = client
        self.workers = workers or os.cpu_count() or 1

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec on the cluster and ``emit`` each record."""
        shipped = ship(task, self.name)
        with self._client() as client:
            pool = DaskPool(client, shipped)
            try:
                run_batches(pool, specs, emit, timeout=timeout)
            finally:
                pool.close()

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        client = self.client
        if client is None:
            with contextlib.suppress(ValueError):
                client = distributed.default_client()
        if client is not None:
            yield client
            return
        with local_client(self.workers) as own:
            yield own
