"""The client's end of the ways batches reach a Dask worker (see
:mod:`~crystallize.execution.dask_service` for the worker's end)."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import uuid
from typing import Any

from crystallize.execution.dask_service import HEADER, answer_task

__all__ = ["Connection", "Link", "TaskLink"]


class Link:
    """Where one worker's batches go: ``capacity`` of them run at once.

    Messages are sent in order and answered in any order; :meth:`receive`
    raises once the link is broken (its worker died or left) or closed.
    """

    def __init__(self, worker: str, capacity: int) -> None:
        self.worker = worker
        self.capacity = capacity
        self.load = 0  # batches sent and not yet answered
        self.loaded = False  # the experiment went out on it
        self.ran = True  # a batch may have started on it (not when the experiment never finished loading)

    async def send(self, message: dict[str, Any]) -> None:
        """Send a batch message."""
        raise NotImplementedError

    async def receive(self) -> dict[str, Any]:
        """The next answer."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop at once, unsent batches and all (call it in the loop's thread)."""
        raise NotImplementedError


class Connection(Link):
    """A connection of the experiment run's own to the worker: a plain data
    connection (``stream``, a reader and writer) or a Dask ``comm`` to its
    batch handler."""

    def __init__(self, worker: str, capacity: int, stream: Any, comm: Any = None) -> None:
        super().__init__(worker, capacity)
        self._stream = stream
        self._comm = comm
        self._write = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        if self._comm is not None:
            async with self._write:
                await self._comm.write(message)
            return
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._stream[1].write(HEADER.pack(len(data)) + data)
        await self._stream[1].drain()

    async def receive(self) -> dict[str, Any]:
        if self._comm is not None:
            message: dict[str, Any] = await self._comm.read()
            return message
        reader = self._stream[0]
        (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
        return pickle.loads(await reader.readexactly(size))  # type: ignore[no-any-return]  # noqa: S301 - from our worker

    def close(self) -> None:
        if self._comm is not None:
            self._comm.abort()
        else:
            self._stream[1].transport.abort()


class TaskLink(Link):
    """Batches sent as Dask tasks pinned to the worker, through the scheduler:
    for a worker the client cannot reach (a cluster behind a gateway).

    The experiment goes in a task of its own, a batch of no runs, that every
    batch task depends on: Dask starts none before it has loaded. Batch tasks
    carry falling priorities, so that the worker runs them in the order they
    were sent, as the other links do. Nothing breaks when the worker dies: its
    tasks wait for it. The pool finds out from the scheduler that the worker
    left and closes the link, which cancels them.
    """

    def __init__(self, worker: str, capacity: int, client: Any, process: str) -> None:
        super().__init__(worker, capacity)
        self._client = client
        self._process = process  # the worker process's id: a worker restarted at the same address refuses the batch
        self._load: Any = None  # the future of the task that loads the experiment
        self._load_key = f"crystallize-load-{uuid.uuid4().hex}"
        self._closed = False
        self.ran = False  # until the load task finishes, no batch can have started
        self._futures: dict[int, Any] = {}
        self._answers: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        self._fetching: set[asyncio.Future[None]] = set()  # asyncio keeps only weak references to tasks
        self._loop = asyncio.get_running_loop()

    async def send(self, message: dict[str, Any]) -> None:
        if self._closed:
            raise ConnectionError("closed")
        message = {**message, "worker": self._process, "load": self._load_key}
        if "blob" in message:
            load = {**message, "id": -1, "batch": _NO_RUNS}
            self._load = self._submit(None, load, message["id"], self._load_key)
            self._load.add_done_callback(self._load_done)
            del message["blob"]
        future = self._submit(self._load, message, message["id"], f"crystallize-batch-{uuid.uuid4().hex}")
        self._futures[message["id"]] = future
        future.add_done_callback(self._finished)

    def _submit(self, after: Any, message: dict[str, Any], order: int, key: str) -> Any:
        return self._client.submit(answer_task, after, message, key=key, workers=[self.worker],
                                   allow_other_workers=False, pure=False, retries=0, priority=-order)

    def _load_done(self, future: Any) -> None:
        """Note that the experiment loaded (Dask calls this in its callback thread)."""
        if future.status == "finished":
            self.ran = True

    def _finished(self, future: Any) -> None:
        """Have the loop fetch the answer (Dask calls this in its one callback
        thread, which fetching there would hold up)."""
        with contextlib.suppress(RuntimeError):  # the loop closed: the experiment run is over
            self._loop.call_soon_threadsafe(self._start_fetch, future)

    def _start_fetch(self, future: Any) -> None:
        if self._closed:
            return
        fetch = asyncio.ensure_future(self._fetch(future))
        self._fetching.add(fetch)
        fetch.add_done_callback(self._fetching.discard)

    async def _fetch(self, future: Any) -> None:
        """Bring the answer over from the cluster, beside the other fetches."""
        try:
            answer: dict[str, Any] | BaseException = await self._loop.run_in_executor(None, future.result)
        except BaseException as exc:  # noqa: BLE001 - the worker died, refused the batch, or the task was
            answer = exc  # cancelled (Dask's CancelledError arrives as asyncio's): the link is broken either way
        self._answers.put_nowait(answer)

    async def receive(self) -> dict[str, Any]:
        answer = await self._answers.get()
        if isinstance(answer, BaseException):
            raise ConnectionError(f"a batch sent as a Dask task failed: {answer!r}") from answer
        self._futures.pop(answer["id"], None)
        return answer

    def close(self) -> None:
        self._closed = True
        futures = [f for f in (*self._futures.values(), self._load) if f is not None]
        self._futures, self._load = {}, None
        if futures:
            with contextlib.suppress(Exception):  # the client may be closing too
                self._client.cancel(futures)
        self._answers.put_nowait(ConnectionError("closed"))


_NO_RUNS = pickle.dumps([], protocol=pickle.HIGHEST_PROTOCOL)
