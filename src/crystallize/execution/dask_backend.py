"""Run specs on a Dask cluster (``pip install "crystallize[dask]"``)."""

from __future__ import annotations

import ast
import contextlib
import itertools
import logging
import os
import pickle
import queue
import sys
import threading
import time
import traceback
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.execution.base import RUN_TIMEOUT, Emit, RunFn, lost_record
from crystallize.execution.batching import Lost, Outcome, run_batches
from crystallize.execution.errors import BackendError, MissingExtraError
from crystallize.execution.worker import BatchResult, ship

try:
    import dask
    import distributed
    from distributed.security import Security
except ImportError as exc:  # pragma: no cover - exercised by a monkeypatched import
    raise MissingExtraError("dask", "Dask's distributed scheduler", "dask") from exc

from crystallize.execution.dask_worker import STARTED, ExperimentPlugin, run_dask_batch

__all__ = ["KEEP_NANNIES", "DaskBackend", "DaskPool", "private_client"]

log = logging.getLogger("crystallize")

KEEP_NANNIES = "3650d"  # a lost-worker-timeout that never passes: a LocalCluster then keeps every nanny
_TARGET = 0.1  # seconds a batch lasts (at least, once known): a task costs the client and scheduler a few ms
_LOOK_EVERY = 2.0  # seconds between looks at how many worker threads the cluster has
_POOLS: dict[str, DaskPool] = {}  # experiment runs in this process -> their pools, for the start events
_POOLS_LOCK = threading.Lock()


@contextlib.contextmanager
def private_client(workers: int) -> Iterator[Any]:
    """A client of the ``LocalCluster`` that ``backend="dask"`` starts: ``workers``
    single-threaded processes on loopback, speaking TLS with credentials made for
    it and held only in this process; closed afterwards.

    Its nannies restart every worker that dies (even one that died twice within
    ``distributed.deploy.lost-worker-timeout``); a task whose worker died is not
    run again (``allowed-failures``: 0), the experiment run retries its runs
    itself; the profiler and watchdogs, for dashboards nobody watches, are off or slowed.
    """
    settings = {"distributed.deploy.lost-worker-timeout": KEEP_NANNIES, "distributed.scheduler.allowed-failures": 0,
                "distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.interval": "2s",
                "distributed.admin.tick.interval": "500ms", "distributed.worker.memory.monitor-interval": "1s"}
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           security=Security.temporary(), dashboard_address=None,
                                           silence_logs=logging.ERROR)
        try:
            with distributed.Client(cluster, set_as_default=False) as client:
                yield client
        finally:
            cluster.close()


class DaskPool:
    """Batches as ordinary Dask tasks named ``crystallize-<experiment>-batch-<n>-<run>``
    (a :class:`~crystallize.execution.batching.Pool`), results streamed back by
    ``distributed.as_completed``. Each batch says when it starts and where (a
    Dask event): a timeout counts the time its run executes, also for a run
    whose record arrives after its deadline.
    """

    def __init__(self, client: Any, plugin: str, experiment: str, timeout: float | None) -> None:
        self.client = client
        self.target = self.shortest = _TARGET
        self.slots = self.depth = 1
        self._plugin = plugin
        self._prefix = f"crystallize-{experiment}-batch"
        self._run = plugin[-8:]
        self._timeout = timeout
        self._futures: dict[str, Any] = {}
        self._starts: dict[str, tuple[float, str]] = {}  # key -> when it started, on which worker
        self._restarted: set[str] = set()  # batches that ran beside a timed-out run, on the worker restarted
        self._count = itertools.count()
        self._done = distributed.as_completed(loop=client.loop, with_results=True, raise_errors=False)
        self._looked = -_LOOK_EVERY
        with _POOLS_LOCK:
            _POOLS[self._run] = self
        client.subscribe_topic(STARTED, _on_started)
        self._look()
        if not self.client.nthreads():
            log.warning("the Dask cluster has no workers yet: the runs wait for workers to join")

    def _look(self) -> None:
        """Keep as many batches in flight as the cluster has threads, twice over (it may grow or shrink)."""
        if time.monotonic() - self._looked >= _LOOK_EVERY:
            self.slots = max(1, sum(self.client.nthreads().values()))
            self.depth = 2 * self.slots
            self._looked = time.monotonic()

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Submit ``batch`` as one task."""
        key = f"{self._prefix}-{next(self._count)}-{self._run}"
        future = self.client.submit(run_dask_batch, self._plugin, batch, key=key, pure=False)
        self._futures[key] = future
        self._done.add(future)
        return key

    def started(self, handle: Hashable) -> float | None:
        """When the batch started executing on its worker (as its event arrived)."""
        start = self._starts.get(handle)  # type: ignore[call-overload]
        return None if start is None else start[0]

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished within ``timeout`` seconds."""
        self._look()
        try:  # the queue that as_completed fills as results arrive: waiting on it can time out
            first = self._done.queue.get(timeout=timeout)
        except queue.Empty:
            return []
        out: list[tuple[Hashable, Outcome]] = []
        for future, result in [first, *self._done.next_batch(block=False)]:
            if self._futures.pop(future.key, None) is not None:  # else it was killed after a timeout
                out.append((future.key, self._outcome(future, result, self._starts.pop(future.key, None))))
        return out

    def _outcome(self, future: Any, result: Any, start: tuple[float, str] | None) -> Outcome:
        if future.status == "finished":
            return self._timed(pickle.loads(result))  # noqa: S301 - made by run_dask_batch
        if future.status == "cancelled":  # e.g. the client was restarted
            return Lost(False, "its Dask task was cancelled")
        _, error, trace = result
        if not isinstance(error, distributed.KilledWorker):
            raise error.with_traceback(trace)
        if future.key in self._restarted:
            return Lost(False, "its Dask worker was restarted after another run's timeout")
        last = getattr(getattr(error, "last_worker", None), "address", None)
        return Lost(True, f"the Dask worker running this run died ({last})",
                    certain=start is not None and start[1] == last)

    def _timed(self, result: BatchResult) -> BatchResult:
        """Time out the runs that took longer than the timeout (their records came in late)."""
        limit = self._timeout
        if limit is None or all(r.duration <= limit for r in result.records):
            return result
        return BatchResult([r if r.duration <= limit else lost_record(
            RunSpec(r.condition, r.replicate, r.seed), "timeout", RUN_TIMEOUT,
            f"run {r.condition}/{r.replicate} took {r.duration:.3g}s, longer than timeout={limit:g}s", r.duration)
            for r in result.records], result.interrupted)

    def kill(self, handle: Hashable) -> str:
        """Cancel the batch and restart its worker through its nanny."""
        future = self._futures.pop(handle)  # type: ignore[call-overload]
        start = self._starts.pop(handle, None)  # type: ignore[call-overload]
        future.cancel()
        if start is None:
            return "its Dask task was cancelled"
        self._restarted.update(key for key, (_, worker) in self._starts.items() if worker == start[1])
        try:
            status = self.client.restart_workers([start[1]], raise_for_error=False).get(start[1])
        except (OSError, TimeoutError, ValueError) as exc:
            status = repr(exc)
        if status == "OK":
            return "its Dask worker was restarted"
        return f"its Dask worker could not be restarted ({status}), so the run goes on there until it returns"

    def close(self) -> None:
        """Cancel every batch still in flight (one already running on a worker finishes there)."""
        with _POOLS_LOCK:
            del _POOLS[self._run]
            listening = any(pool.client is self.client for pool in _POOLS.values())
        with contextlib.suppress(Exception):  # the cluster may be gone
            if self._futures:
                self.client.cancel(list(self._futures.values()))
            if not listening:
                self.client.unsubscribe_topic(STARTED)
        self._futures.clear()
        self._done.clear()


def _on_started(event: tuple[float, dict[str, str]]) -> None:
    """Note when a batch started (called by the client for each :data:`STARTED` event)."""
    key = event[1]["key"]
    pool = _POOLS.get(key.rsplit("-", 1)[-1])
    if pool is not None and key in pool._futures:  # noqa: SLF001 - the pool's own callback
        pool._starts[key] = (time.monotonic(), event[1]["worker"])  # noqa: SLF001


def _check_usable(client: Any) -> None:
    """Raise a :class:`BackendError` saying what to do if ``client`` cannot run an experiment."""
    if getattr(client, "asynchronous", False):
        raise BackendError("the Dask client was created with asynchronous=True, and Experiment.run is synchronous: "
                           "pass a client of the same cluster created without it "
                           "(distributed.Client(client.scheduler.address))")
    if client.status != "running":
        raise BackendError(f"the Dask client is {client.status!r}, not connected: pass a connected client "
                           "(distributed.Client(address)), or backend='dask' to start a local cluster")


def _check_guarded() -> None:
    """Raise a :class:`BackendError` if the experiment is run from the top level of
    a script that Dask's worker processes would run again as they start."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    module = getattr(getattr(main, "__spec__", None), "name", None) or ""
    if (main is None or path is None or module.split(".")[-1] == "__main__"
            or dask.config.get("distributed.worker.multiprocessing-method") == "fork"):
        return  # an interactive session, a package's __main__, or forked workers: none runs it again
    frame = next((f for f, _ in traceback.walk_stack(None)
                  if f.f_globals is main.__dict__ and f.f_code.co_name == "<module>"), None)
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return
    if frame is None or any(isinstance(node, ast.If) and node.lineno <= frame.f_lineno <= (node.end_lineno or 0)
                            and _names_main(node.test) for node in ast.walk(tree)):
        return
    raise BackendError(f"{path}, line {frame.f_lineno}: backend='dask' starts worker processes that run this script "
                       "again; put the code that runs the experiment under `if __name__ == \"__main__\":`, "
                       "or use backend='processes' on one machine")


def _names_main(test: ast.expr) -> bool:
    """Whether ``test`` is the usual ``__name__ == "__main__"`` check."""
    parts = list(ast.walk(test))
    return (any(isinstance(p, ast.Name) and p.id == "__name__" for p in parts)
            and any(isinstance(p, ast.Constant) and p.value == "__main__" for p in parts))


def _register(client: Any, name: str, plugin: ExperimentPlugin) -> None:
    """Hand the experiment to every worker, now and as they join."""
    try:
        client.register_plugin(plugin, name=name)
    except BackendError:
        raise
    except Exception as exc:
        from crystallize import __version__  # noqa: PLC0415 - the package imports this module lazily

        raise BackendError(f"the Dask workers cannot take the experiment: {type(exc).__name__}: {exc}. Install "
                           f"the same version of crystallize ({__version__}) in the workers' environment") from exc


class DaskBackend:
    """Runs on Dask: a client you pass, else the default client, else a private
    ``LocalCluster`` (loopback only, TLS) started for this experiment run and
    closed after it (:func:`private_client`). A client passed in (or the
    default one) is used as given and never closed.

    The experiment is pickled once with cloudpickle and handed to each worker
    once, as a worker plugin (workers that join or restart get it too); each
    worker thread draws from its own ``random`` and NumPy global generators.
    A worker that dies fails only the run that killed it (``WorkerDied``).
    ``timeout``: the time a run spends executing on its worker, which is then
    restarted through its nanny. On Ctrl-C the tasks are cancelled (a batch
    already executing finishes on its worker). A script that starts the private
    cluster needs ``if __name__ == "__main__":`` (Dask starts the workers by
    running the script again); without it the run stops before it starts.

    Args:
        client: a connected ``dask.distributed.Client``.
        workers: worker processes of the private LocalCluster (default: the number of CPUs).
    """

    name = "dask"

    def __init__(self, client: Any = None, *, workers: int | None = None) -> None:
        self.client = client
        self.workers = workers or os.cpu_count() or 1

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec on the cluster and ``emit`` each record."""
        shipped = ship(task, self.name)
        with self._client() as client:
            plugin = f"crystallize-{shipped.token}"
            try:
                _register(client, plugin, ExperimentPlugin(shipped))
                pool = DaskPool(client, plugin, getattr(task, "name", "experiment"), timeout)
                try:
                    run_batches(pool, specs, emit, timeout=timeout)
                finally:
                    pool.close()
            finally:
                with contextlib.suppress(Exception):  # the cluster may be gone
                    client.unregister_worker_plugin(plugin)

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        client = self.client
        if client is None:
            with contextlib.suppress(ValueError):
                client = distributed.default_client()
        if client is not None:
            _check_usable(client)
            yield client
            return
        _check_guarded()
        with private_client(self.workers) as own:
            yield own
