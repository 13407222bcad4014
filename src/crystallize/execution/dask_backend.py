"""Run specs on a Dask cluster (``pip install "crystallize[dask]"``)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import run_batches
from crystallize.execution.errors import BackendError, MissingExtraError
from crystallize.execution.worker import ship

try:
    import distributed
except ImportError as exc:  # pragma: no cover - exercised by a monkeypatched import
    raise MissingExtraError("dask", "Dask's distributed scheduler", "dask") from exc

from crystallize.execution.dask_pool import DaskPool

__all__ = ["KEEP_NANNIES", "DaskBackend", "local_client"]

KEEP_NANNIES = "3650d"  # a lost-worker-timeout that never passes: a LocalCluster then keeps every nanny


def _check_usable(client: Any) -> None:
    """Raise a :class:`BackendError` saying what to do if ``client`` cannot run an experiment."""
    if getattr(client, "asynchronous", False):
        raise BackendError("the Dask client was created with asynchronous=True, and Experiment.run is synchronous: "
                           "pass a client of the same cluster created without it "
                           "(distributed.Client(client.scheduler.address))")
    if client.status != "running":
        raise BackendError(f"the Dask client is {client.status!r}, not connected: pass a connected client "
                           "(distributed.Client(address)), or backend='dask' to start a local cluster")


@contextlib.contextmanager
def local_client(workers: int) -> Iterator[Any]:
    """A client of a LocalCluster of ``workers`` single-threaded processes, both
    closed afterwards: what ``backend="dask"`` starts when there is no client.

    The workers' statistical profiler (a thread sampling every 10 ms, for a
    dashboard nobody watches here) is off, and the watchdogs that wake every
    process every 20-100 ms wake less often.

    A LocalCluster closes the nanny of a worker that left if, when
    ``distributed.deploy.lost-worker-timeout`` has passed, no worker of that
    name is there: meant for lost batch jobs, it also fires when the worker
    died again and its nanny is restarting it, and the cluster then loses
    that worker for good. Its nannies restart every worker that dies, so
    that timer is put out of reach while the cluster lives.
    """
    import dask  # noqa: PLC0415

    settings = {
        "distributed.worker.profile.enabled": False,
        "distributed.admin.system-monitor.interval": "2s",
        # event-loop and memory watchdogs wake every 20-100 ms in every process; slower is plenty here
        "distributed.admin.tick.interval": "500ms",
        "distributed.worker.memory.monitor-interval": "1s",
    }
    with dask.config.set({"distributed.deploy.lost-worker-timeout": KEEP_NANNIES}):
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
    over connections of the experiment run's own that then carry the batches
    and their records (:class:`DaskPool`). A worker that dies fails only the
    run it was running (``WorkerDied``); workers that join or restart are
    connected to and take runs. ``timeout``: the worker running the batch is
    restarted through its nanny (timeouts count from submission; as many
    batches as worker threads are in flight, so that is when they start). On
    Ctrl-C the connections close and every worker skips the runs it has not
    started; a run already executing finishes in its worker thread and its
    result is dropped. Dask starts the LocalCluster's workers by re-importing
    the main module, so a script that uses ``backend="dask"`` needs the usual
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
            _check_usable(client)
            yield client
            return
        with local_client(self.workers) as own:
            yield own
