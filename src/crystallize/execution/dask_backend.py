"""Run specs on a Dask cluster (``pip install "crystallize[dask]"``)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import time
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import Lost, Outcome, run_batches
from crystallize.execution.errors import BackendError, MissingExtraError
from crystallize.execution.private_loop import PrivateLoop
from crystallize.execution.worker import ShippedTask, ship

try:
    import distributed
    from distributed.comm import connect
except ImportError as exc:  # pragma: no cover - exercised by a monkeypatched import
    raise MissingExtraError("dask", "Dask's distributed scheduler", "dask") from exc

from crystallize.execution.dask_service import HANDLER, install_service

__all__ = ["DaskBackend", "DaskPool", "local_client"]

log = logging.getLogger("crystallize")

_WORKER_WAIT = 120.0  # seconds to wait for a worker when the cluster has none
_REFRESH = 2.0  # seconds between looks for workers that joined


def _installed_on(client: Any) -> set[str]:
    """The client's workers known to have the batch handler.

    Kept on the client itself, so that it lasts as long as the client does.
    """
    installed: set[str] = client.__dict__.setdefault("_crystallize_handler_on", set())
    return installed


class _Stream:
    """The connection to one worker's batch handler, and what is in flight on it."""

    def __init__(self, comm: Any) -> None:
        self.comm = comm
        self.write = asyncio.Lock()
        self.loaded = False  # the experiment went out with a batch
        self.load = 0  # batches sent and not yet returned


class DaskPool:
    """Batches sent straight to each Dask worker over a connection of their
    own (a :class:`~crystallize.execution.batching.Pool`).

    The pool registers a small handler on every worker
    (:mod:`~crystallize.execution.dask_service`) and opens one connection to
    each for the experiment run: batches go out and results come back on it,
    with no scheduler task or actor in between, so a batch costs little more
    than its bytes. The experiment travels with the first batch on each
    connection. The connections run on a :class:`PrivateLoop` in the calling
    thread. Each batch goes to the worker with the fewest batches per
    thread, so that every worker holds one batch to run next. A connection
    that breaks means its worker died or left: its batches come back
    :class:`Lost`. Every couple of seconds the pool looks for workers that
    joined (a restarted worker has a new address; a cluster may scale up).
    """

    def __init__(self, client: Any, task: ShippedTask) -> None:
        self.client = client
        self._task = task
        self._loop = PrivateLoop()
        self._streams: dict[str, _Stream] = {}
        self._gone: set[str] = set()  # workers that died, left or were restarted
        self._threads: dict[str, int] = {}
        self._calls: dict[int, str] = {}  # batch handle -> its worker
        self._starts: dict[int, float] = {}
        self._collateral: set[int] = set()  # batches on a worker restarted after a timeout
        self._handles = itertools.count()
        self._done: asyncio.Queue[tuple[str, int | None, Any]] | None = None
        self._refreshed = 0.0
        self.slots = self.depth = 1
        self.target = 0.2
        try:
            self._refresh()
        except BaseException:
            self.close()
            raise

    def _refresh(self) -> None:
        """Connect to every live worker not yet connected; forget workers that left.

        Batches only ever go to a worker that is there.
        """
        deadline = time.monotonic() + _WORKER_WAIT
        while True:
            threads = {w: n for w, n in self.client.nthreads().items() if w not in self._gone}
            new = [w for w in threads if w not in self._streams]
            if new:
                self._loop.run(self._connect(self._install(new)))
            for worker in set(self._streams) - set(threads):
                self._forget(worker)
            self._threads = {w: n for w, n in threads.items() if w in self._streams}
            self._refreshed = time.monotonic()
            if self._threads:
                self.slots = sum(self._threads.values())
                self.depth = 2 * self.slots
                return
            if time.monotonic() > deadline:
                raise BackendError(f"the Dask cluster has had no worker able to run the experiment for "
                                   f"{_WORKER_WAIT:g} s; start workers, or run with another backend")
            time.sleep(0.1)

    def _install(self, workers: list[str]) -> list[str]:
        """Those of ``workers`` that have the batch handler, registering it where needed.

        Which workers have it is remembered on the client, so that later
        experiment runs do not register it again.
        """
        installed = _installed_on(self.client)
        missing = [w for w in workers if w not in installed]
        if missing:
            try:
                answers = self.client.run(install_service, workers=missing, on_error="return")
            except (OSError, ValueError, KeyError) as exc:  # a worker left meanwhile; the next look retries
                log.debug("could not register the batch handler on %s: %s", missing, exc)
                answers = {}
            installed.update(w for w, answer in answers.items() if answer is True)
        return [w for w in workers if w in installed]

    async def _connect(self, workers: list[str]) -> None:
        """Open a connection to the batch handler of each of ``workers``."""
        if self._done is None:
            self._done = asyncio.Queue()

        async def open_one(worker: str) -> None:
            try:
                comm = await connect(worker, **self.client.connection_args)
                await comm.write({"op": HANDLER, "reply": False})
            except (OSError, asyncio.TimeoutError):
                return
            self._streams[worker] = _Stream(comm)
            asyncio.ensure_future(self._read(worker, comm))

        await asyncio.gather(*(open_one(w) for w in workers))

    async def _read(self, worker: str, comm: Any) -> None:
        assert self._done is not None
        while True:
            try:
                message = await comm.read()
            except Exception as exc:  # noqa: BLE001 - the connection broke: the worker died or left
                self._done.put_nowait((worker, None, exc))
                return
            self._done.put_nowait((worker, message["id"], message))

    def _forget(self, worker: str) -> None:
        """Stop using ``worker`` and close its connection (its batches then come back lost)."""
        self._gone.add(worker)
        _installed_on(self.client).discard(worker)  # a worker restarted at the same address lacks the handler
        stream = self._streams.pop(worker, None)
        if stream is not None:
            stream.comm.abort()

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Send ``batch`` to the least loaded worker (with the experiment, the first time)."""
        if time.monotonic() - self._refreshed > _REFRESH:
            self._refresh()  # take in workers that joined or restarted
        worker = min(self._threads, key=lambda w: self._streams[w].load / self._threads[w])
        stream = self._streams[worker]
        handle = next(self._handles)
        message = {"id": handle, "token": self._task.token, "batch": pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)}
        if not stream.loaded:
            message["blob"] = self._task.blob
            stream.loaded = True
        self._calls[handle] = worker
        self._starts[handle] = time.monotonic()
        stream.load += 1
        self._loop.spawn(self._send(stream, message))
        return handle

    @staticmethod
    async def _send(stream: _Stream, message: dict[str, Any]) -> None:
        async with stream.write:
            try:
                await stream.comm.write(message)
            except Exception:  # noqa: BLE001 - the reader reports the broken connection
                stream.comm.abort()

    async def _wait(self, timeout: float | None) -> list[tuple[str, int | None, Any]]:
        assert self._done is not None
        try:
            finished = [await asyncio.wait_for(self._done.get(), timeout)]
        except asyncio.TimeoutError:
            return []
        while not self._done.empty():
            finished.append(self._done.get_nowait())
        return finished

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished within ``timeout`` seconds."""
        outcomes: list[tuple[Hashable, Outcome]] = []
        for worker, handle, message in self._loop.run(self._wait(timeout)):
            if handle is None:
                outcomes.extend(self._lost(worker, message))
            elif self._calls.pop(handle, None) is not None:  # else killed after a timeout
                self._starts.pop(handle, None)
                if worker in self._streams:
                    self._streams[worker].load -= 1
                if "error" in message:
                    raise pickle.loads(message["error"])  # noqa: S301 - made by our own worker handler
                outcomes.append((handle, pickle.loads(message["result"])))  # noqa: S301 - likewise
        return outcomes

    def _lost(self, worker: str, error: Exception) -> list[tuple[Hashable, Outcome]]:
        """The batches in flight on ``worker``, whose connection broke."""
        if worker not in self._gone:
            log.warning("lost Dask worker %s: %s", worker, error)
            self._forget(worker)
            self._refresh()
        lost: list[tuple[Hashable, Outcome]] = []
        for handle in [h for h, w in self._calls.items() if w == worker]:
            del self._calls[handle]
            self._starts.pop(handle, None)
            if handle in self._collateral:
                self._collateral.discard(handle)
                lost.append((handle, Lost(False, "its worker was restarted")))
            else:
                lost.append((handle, Lost(True, f"the Dask worker running this run died ({error})", certain=False)))
        return lost

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
        """Close the connections: each worker skips the runs it has not started
        (a run already executing finishes)."""
        for stream in self._streams.values():
            stream.comm.abort()
        self._streams.clear()
        self._loop.close()


@contextlib.contextmanager
def local_client(workers: int) -> Iterator[Any]:
    """A client of a LocalCluster of ``workers`` single-threaded processes, both
    closed afterwards: what ``backend="dask"`` starts when there is no client.

    The workers' statistical profiler (a thread sampling every 10 ms, for a
    dashboard nobody watches here) is off, and the watchdogs that wake every
    process every 20-100 ms wake less often.
    """
    import dask  # noqa: PLC0415

    settings = {
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
    experiment is pickled once with cloudpickle and sent once to each worker,
    over a connection of its own that then carries the batches and their
    records (:class:`DaskPool`). A worker that dies fails only the run it was
    running (``WorkerDied``); workers that join or restart are connected to
    and take runs. ``timeout``: the worker running the batch is restarted
    through its nanny (timeouts count from submission; as many batches as
    worker threads are in flight, so that is when they start). On Ctrl-C the
    connections close and every worker skips the runs it has not started; a
    run already executing finishes in its worker thread and its result is
    dropped. Dask starts the LocalCluster's workers by re-importing the main
    module, so a script that uses ``backend="dask"`` needs the usual
    ``if __name__ == "__main__":``.

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
