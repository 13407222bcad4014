"""The worker side of the Dask backend: a handler on each Dask worker that
runs batches sent over one connection per experiment run.

The client opens a connection to each worker (Dask's own comm, so the
cluster's TLS and security settings apply), names the handler
``crystallize_batches``, and from then on the connection carries only
batches one way and results the other, with none of the bookkeeping of a
scheduler task or an actor call. Messages (msgpack, through Dask's comm):

* client to worker: ``{"id": n, "token": t, "batch": pickled specs}``; the
  first batch also carries ``"blob"``, the pickled experiment.
* worker to client: ``{"id": n, "result": pickled BatchResult}``, or
  ``{"id": n, "error": pickled exception}`` when the batch could not run at all.

Batches run on the worker's thread pool, as many at once as it has threads.
When the connection closes (the experiment run ended, was interrupted, or
its client died), the runs not yet started are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import threading
from typing import Any

from distributed.comm import CommClosedError
from distributed.core import Status

from crystallize.core.plan import RunSpec
from crystallize.execution.errors import BackendError
from crystallize.execution.worker import dump_result, load_task, run_batch

__all__ = ["HANDLER", "install_service"]

#: the name clients open a batch connection with
HANDLER = "crystallize_batches"


def install_service(dask_worker: Any) -> bool:
    """Register the batch handler on ``dask_worker`` (run through ``client.run``)."""

    async def crystallize_batches(comm: Any) -> Status:
        await _Connection(dask_worker, comm).serve()
        return Status.dont_reply  # the connection closed: nothing to answer

    dask_worker.handlers[HANDLER] = crystallize_batches
    return True


class _Connection:
    """One client's experiment run on this worker."""

    def __init__(self, worker: Any, comm: Any) -> None:
        self._worker = worker
        self._comm = comm
        self._stop = threading.Event()  # set when the connection closes
        self._write = asyncio.Lock()
        self._loading: asyncio.Future[Any] | None = None  # the experiment, unpickled off the event loop
        self._running: set[asyncio.Future[None]] = set()

    async def serve(self) -> None:
        try:
            while True:
                message = await self._comm.read()
                task = asyncio.ensure_future(self._run(message))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        except (CommClosedError, OSError):
            pass  # the experiment run is over, or its client is gone
        finally:
            self._stop.set()

    async def _run(self, message: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        executor = self._worker.executor
        try:
            if self._loading is None:  # the first batch carries the experiment
                self._loading = loop.run_in_executor(executor, load_task, message["token"], message["blob"])
            task = await self._loading
            batch: list[RunSpec] = pickle.loads(message["batch"])  # noqa: S301 - sent by our own client
            reply = {"id": message["id"], "result": await loop.run_in_executor(
                executor, lambda: dump_result(run_batch(task, batch, self._stop)))}
        except Exception as exc:  # noqa: BLE001 - sent back to be raised in the calling process
            reply = {"id": message["id"], "error": _pickled(exc)}
        async with self._write:
            with contextlib.suppress(CommClosedError, OSError):
                await self._comm.write(reply)


def _pickled(exc: Exception) -> bytes:
    try:
        return pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an exception that cannot travel is described instead
        return pickle.dumps(BackendError(f"a Dask worker failed to run a batch: {type(exc).__name__}: {exc}"))
