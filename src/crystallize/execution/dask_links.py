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

    Nothing breaks when such a worker dies: its tasks wait for it. The pool
    finds out from the scheduler that the worker left and closes the link,
    which cancels them.
    """

    def __init__(self, worker: str, capacity: int, client: Any, process: str) -> None:
        super().__init__(worker, capacity)
        self._client = client
        self._process = process  # the worker process's id: a worker restarted at the same address refuses the batch
        self._futures: dict[int, Any] = {}
        self._answers: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()

    async def send(self, message: dict[str, Any]) -> None:
        future = self._client.submit(answer_task, {**message, "worker": self._process}, key=f"crystallize-batch-"
                                     f"{uuid.uuid4().hex}", workers=[self.worker], allow_other_workers=False,
                                     pure=False, retries=0)
        self._futures[message["id"]] = future
        future.add_done_callback(self._finished)

    def _finished(self, future: Any) -> None:
        """Hand the answer over to the loop (Dask calls this in a thread of its own)."""
        try:
            answer: dict[str, Any] | BaseException = future.result()
        except BaseException as exc:  # noqa: BLE001 - the worker died, or refused the batch: the link is broken
            answer = exc
        with contextlib.suppress(RuntimeError):  # the loop closed: the experiment run is over
            self._loop.call_soon_threadsafe(self._answers.put_nowait, answer)

    async def receive(self) -> dict[str, Any]:
        answer = await self._answers.get()
        if isinstance(answer, BaseException):
            raise ConnectionError(f"a batch sent as a Dask task failed: {answer!r}") from answer
        self._futures.pop(answer["id"], None)
        return answer

    def close(self) -> None:
        futures, self._futures = list(self._futures.values()), {}
        if futures:
            with contextlib.suppress(Exception):  # the client may be closing too
                self._client.cancel(futures)
        self._answers.put_nowait(ConnectionError("closed"))
