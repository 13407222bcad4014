"""Run specs on a Dask cluster (``pip install "crystallize[dask]"``)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import Lost, Outcome, run_batches
from crystallize.execution.errors import BackendError, MissingExtraError
from crystallize.execution.worker import ShippedTask, cached_task, dump_result, load_task, run_batch, ship

try:
    import distributed
    from distributed import KilledWorker
except ImportError as exc:  # pragma: no cover - exercised by a monkeypatched import
    raise MissingExtraError("dask", "Dask's distributed scheduler", "dask") from exc

__all__ = ["BatchRunner", "DaskBackend", "DaskPool", "local_client"]

log = logging.getLogger("crystallize")

_WORKER_WAIT = 120.0  # seconds to wait for a worker when the cluster has none
_REFRESH = 2.0  # seconds between looks for workers that joined
_KEEP_STOPS = 64  # experiment runs whose stop flag a runner remembers


class BatchRunner:
    """A Dask actor on one worker that runs batches of any experiment.

    One runner per worker serves every experiment run of a client. The first
    batch of an experiment run to reach a worker carries the pickled
    experiment, which the worker loads once and keeps (the experiment crosses
    to each worker once); later batches carry only its token. Calls go
    directly from client to worker, with no scheduler task per batch, and
    batches run on the worker's own thread pool, so a worker with several
    threads runs several batches at once.
    """

    def __init__(self) -> None:
        self._executor = distributed.get_worker().executor
        self._stops: OrderedDict[str, threading.Event] = OrderedDict()

    def _stop_event(self, token: str) -> threading.Event:
        event = self._stops.get(token)
        if event is None:
            event = self._stops[token] = threading.Event()
            while len(self._stops) > _KEEP_STOPS:
                self._stops.popitem(last=False)
        return event

    async def run(self, token: str, blob: bytes | None, batch: list[RunSpec]) -> bytes | None:
        """Run ``batch`` on a worker thread; its :class:`BatchResult`, pickled
        here so that a record that cannot travel fails alone. ``None``: the
        experiment came without its bytes and this worker has not loaded it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, token, blob, batch, self._stop_event(token))

    @staticmethod
    def _run(token: str, blob: bytes | None, batch: list[RunSpec], stop: threading.Event) -> bytes | None:
        task = cached_task(token) if blob is None else load_task(token, blob)
        if task is None:
            return None
        return dump_result(run_batch(task, batch, stop))

    async def stop(self, token: str) -> None:
        """Skip the runs of experiment run ``token`` not yet started, in every batch sent so far."""
        self._stop_event(token).set()


def _runners_of(client: Any) -> dict[str, tuple[Any, Any]]:
    """The client's runners, worker address -> (the actor's future, its handle).

    Kept on the client itself, so that they last as long as it does (a
    registry keyed by client would keep every client alive: the futures
    refer to it).
    """
    runners: dict[str, tuple[Any, Any]] = client.__dict__.setdefault("_crystallize_runners", {})
    return runners


class DaskPool:
    """Batches as calls to a :class:`BatchRunner` actor on each Dask worker (a
    :class:`~crystallize.execution.batching.Pool`).

    A call goes straight to its worker, which costs about a millisecond, a
    quarter of a scheduler task. A client's runners stay on its workers
    between experiment runs. Each batch goes to the worker with the fewest
    batches per thread, so that every worker holds one batch to run next and
    none idles while another has a queue. A worker whose calls fail with a
    lost connection has died or left: its batches come back :class:`Lost`.
    Every couple of seconds the pool looks for workers that joined (a
    restarted worker has a new address; a cluster may scale up) and starts a
    runner on each.
    """

    def __init__(self, client: Any, task: ShippedTask) -> None:
        self.client = client
        self._task = task
        self._runners = _runners_of(client)
        self._loaded: set[str] = set()  # workers sent the experiment's bytes
        self._gone: set[str] = set()  # workers that died, left or were restarted
        self._threads: dict[str, int] = {}
        self._load: dict[str, int] = {}
        self._calls: dict[int, str] = {}  # batch handle -> its worker
        self._starts: dict[int, float] = {}
        self._collateral: set[int] = set()  # batches on a worker restarted after a timeout
        self._handles = itertools.count()
        self._done: queue.Queue[tuple[int, Any]] = queue.Queue()
        self._refreshed = 0.0
        self.slots = self.depth = 1
        self.target = 0.2
        self._refresh()

    def _refresh(self) -> None:
        """Start a runner on every live worker that has none; forget workers that left.

        Batches only ever go to a worker that is there: Dask leaves a task
        meant for a departed worker waiting while no other worker is up.
        """
        deadline = time.monotonic() + _WORKER_WAIT
        while True:
            threads = {w: n for w, n in self.client.nthreads().items() if w not in self._gone}
            for worker, (future, _) in list(self._runners.items()):
                if future.status != "finished":  # released, e.g. by client.restart()
                    del self._runners[worker]
            self._start_runners([w for w in threads if w not in self._runners])
            for worker in set(self._runners) - set(threads):
                self._forget(worker)
            self._threads = {w: n for w, n in threads.items() if w in self._runners}
            self._load = {w: self._load.get(w, 0) for w in self._threads}
            self._refreshed = time.monotonic()
            if self._threads:
                self.slots = sum(self._threads.values())
                self.depth = 2 * self.slots
                return
            if time.monotonic() > deadline:
                raise BackendError(f"the Dask cluster has had no worker able to run the experiment for "
                                   f"{_WORKER_WAIT:g} s; start workers, or run with another backend")
            time.sleep(0.1)

    def _start_runners(self, workers: list[str]) -> None:
        """A :class:`BatchRunner` on each of ``workers``."""
        futures = [self.client.submit(BatchRunner, actor=True, pure=False,
                                      key=f"crystallize-runner-{uuid.uuid4().hex}",
                                      workers=[w], allow_other_workers=True) for w in workers]
        with self.client.as_current():  # an actor's handle binds to the current client
            for future in futures:
                try:
                    runner = future.result(timeout=_WORKER_WAIT)
                except (KilledWorker, OSError, TimeoutError, asyncio.TimeoutError):
                    continue  # its worker went away meanwhile
                where = runner._address  # noqa: SLF001 - the worker the actor landed on
                if where in self._runners or where in self._gone:
                    self.client.cancel([future])
                else:
                    self._runners[where] = (future, runner)

    def _forget(self, worker: str) -> None:
        """Stop using ``worker`` (callers then :meth:`_refresh`) and release its runner."""
        self._gone.add(worker)
        future, _ = self._runners.pop(worker, (None, None))
        if future is not None:
            self.client.cancel([future])

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Send ``batch`` to the least loaded worker's runner (with the experiment, the first time)."""
        if time.monotonic() - self._refreshed > _REFRESH:
            self._refresh()  # take in workers that joined or restarted
        worker = min(self._load, key=lambda w: self._load[w] / self._threads[w])
        blob = None if worker in self._loaded else self._task.blob
        self._loaded.add(worker)
        handle = next(self._handles)
        self._calls[handle] = worker
        self._starts[handle] = time.monotonic()
        self._load[worker] += 1
        try:
            call = self._runners[worker][1].run(self._task.token, blob, batch)
        except RuntimeError as exc:  # "Worker holding Actor was lost"
            self._done.put((handle, exc))
        else:
            self.client.loop.add_callback(self._collect, handle, call)
        return handle

    async def _collect(self, handle: int, call: Any) -> None:
        try:
            out = await call
        except Exception as exc:  # noqa: BLE001 - judged in the calling thread
            out = exc
        self._done.put((handle, out))

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished within ``timeout`` seconds."""
        try:
            finished = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while not self._done.empty():
            finished.append(self._done.get_nowait())
        return [out for handle, result in finished if (out := self._outcome(handle, result)) is not None]

    def _outcome(self, handle: int, result: Any) -> tuple[Hashable, Outcome] | None:
        worker = self._calls.pop(handle, None)
        if worker is None:
            return None  # killed after a timeout
        self._starts.pop(handle, None)
        if worker in self._load:
            self._load[worker] -= 1
        if isinstance(result, bytes):
            return handle, pickle.loads(result)  # noqa: S301 - made by our own runner
        if result is None:  # it reached the worker before the batch carrying the experiment
            self._loaded.discard(worker)
            return handle, Lost(False, "its worker had not loaded the experiment")
        if handle in self._collateral:
            self._collateral.discard(handle)
            return handle, Lost(False, "its worker was restarted")
        if isinstance(result, (OSError, RuntimeError)):  # the connection to its worker was lost
            if worker not in self._gone:
                log.warning("lost Dask worker %s: %s", worker, result)
                self._forget(worker)
                self._refresh()
            return handle, Lost(True, f"the Dask worker running this run died ({result})", certain=False)
        raise result

    def started(self, handle: Hashable) -> float | None:
        """When the batch was sent (with one batch per worker thread in flight, when it started)."""
        return self._starts.get(handle)  # type: ignore[call-overload]

    def kill(self, handle: Hashable) -> str:
        """Restart the worker running the batch through its nanny."""
        worker = self._calls.pop(handle, None)  # type: ignore[call-overload]
        self._starts.pop(handle, None)  # type: ignore[call-overload]
        if worker is None or worker in self._gone:
            return "its Dask worker was already gone"
        self._collateral.update(h for h, w in self._calls.items() if w == worker)
        self._forget(worker)
        status = self.client.restart_workers([worker], raise_for_error=False)
        self._refresh()
        if any(v != "OK" for v in status.values()):
            log.warning("could not restart Dask worker %s after a timeout: %s", worker, status)
            return "its Dask worker could not be restarted and runs on; no more runs are sent there"
        return "its Dask worker was restarted"

    def close(self) -> None:
        """Tell the runners to skip this experiment run's runs not yet started
        (a run already executing finishes); the runners stay for the next one.
        With no batch in flight (every run done) there is nothing to tell."""
        if not self._calls:
            return
        stops = []
        for _, runner in self._runners.values():
            with contextlib.suppress(Exception):
                stops.append(runner.stop(self._task.token))
        for stop in stops:
            with contextlib.suppress(Exception):
                stop.result(timeout=5)


@contextlib.contextmanager
def local_client(workers: int) -> Iterator[Any]:
    """A client of a LocalCluster of ``workers`` single-threaded processes, both
    closed afterwards: what ``backend="dask"`` starts when there is no client.

    The client calls the workers' runners directly rather than through the
    scheduler (``direct_to_workers``). The workers' statistical profiler (a
    thread sampling every 10 ms, for a dashboard nobody watches here) is off,
    and the watchdogs that wake every process every 20-100 ms wake less often.
    """
    import dask  # noqa: PLC0415

    settings = {
        # a runner whose worker died is not re-created elsewhere by Dask: the pool starts runners itself
        "distributed.scheduler.allowed-failures": 0,
        "distributed.worker.profile.enabled": False,
        "distributed.admin.system-monitor.interval": "2s",
        # event-loop and memory watchdogs wake every 20-100 ms in every process; slower is plenty here
        "distributed.admin.tick.interval": "500ms",
        "distributed.worker.memory.monitor-interval": "1s",
    }
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    try:
        client = distributed.Client(cluster, set_as_default=False, direct_to_workers=True)
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
    experiment is pickled once with cloudpickle and sent once to each worker,
    where a :class:`BatchRunner` actor keeps it loaded and runs the batches
    sent to it. A worker that dies fails only the run it was running
    (``WorkerDied``); workers that join or restart get a runner of their own.
    ``timeout``: the worker running the batch is restarted through its nanny
    (timeouts count from submission; as many batches as worker threads are in
    flight, so that is when they start). On Ctrl-C the runners skip every run
    not yet started; a run already executing finishes in its worker thread and
    its result is dropped. Dask starts the LocalCluster's workers by
    re-importing the main module, so a script that uses ``backend="dask"``
    needs the usual ``if __name__ == "__main__":``.

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
