"""The Dask backend's pool: batches sent to each worker over links of the experiment run's own."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import pickle
import secrets
import time
from collections.abc import Hashable
from typing import Any

from distributed.comm import connect

from crystallize.core.plan import RunSpec
from crystallize.execution.batching import Lost, Outcome
from crystallize.execution.dask_links import Connection, Link, TaskLink
from crystallize.execution.dask_service import (
    ACCEPTED,
    HANDLER,
    end_task_session,
    install_service,
    keep_alive,
    open_data_port,
)
from crystallize.execution.errors import BackendError
from crystallize.execution.private_loop import PrivateLoop
from crystallize.execution.worker import ShippedTask

__all__ = ["DaskPool"]

log = logging.getLogger("crystallize")

_WORKER_WAIT = 120.0  # seconds to wait for a worker when the cluster has none
_REFRESH = 2.0  # seconds between looks for workers that joined
_CONNECT_WAIT = 5.0  # seconds a direct data connection may take before Dask's comm is used instead
_REMOTE_FOR = 600.0  # seconds a worker found unreachable is sent tasks without trying to connect first


def _unpickled_error(data: bytes, worker: str) -> BaseException:
    """The exception a worker sent back, or a description of it if it cannot be rebuilt here."""
    try:
        error: BaseException = pickle.loads(data)  # noqa: S301 - made by our own worker side
    except Exception as exc:  # noqa: BLE001 - reported instead
        return BackendError(f"Dask worker {worker} failed a batch with an error that cannot be rebuilt here: {exc!r}")
    return error


def _version() -> str:
    from crystallize import __version__  # noqa: PLC0415 - the package imports this module lazily

    return __version__


def _remote_on(client: Any) -> dict[str, float]:
    """The addresses of the client's workers that it could reach only through
    the scheduler, with when it found out: for :data:`_REMOTE_FOR` seconds,
    experiment runs send them tasks at once. Kept on the client."""
    remote: dict[str, float] = client.__dict__.setdefault("_crystallize_remote", {})
    now = time.monotonic()
    for worker in [w for w, since in remote.items() if now - since > _REMOTE_FOR]:
        del remote[worker]  # try the direct ways again: the failure may have been passing
    return remote


def _installed_on(client: Any) -> set[str]:
    """The ids of the client's worker processes known to have the batch handler.

    Kept on the client itself, so that it lasts as long as the client does.
    """
    installed: set[str] = client.__dict__.setdefault("_crystallize_handler_on", set())
    return installed


class DaskPool:
    """Batches sent straight to each Dask worker over connections of the
    experiment run's own (a :class:`~crystallize.execution.batching.Pool`).

    For every worker the pool asks Dask (``client.run``) to open a data port
    for this experiment run, connects to it and proves itself with a random
    nonce sent through Dask. Batches go out and results come back on that
    connection, served on the worker by plain threads, so a batch costs about
    what it costs a process pool. Where that fails (a TLS cluster, a
    firewall), the worker is reached through a Dask comm to a handler the
    pool registers on it instead. A worker the client cannot reach at all (a
    cluster behind a gateway that exposes only its scheduler) is sent its
    batches as Dask tasks pinned to it, through the scheduler; the client
    remembers such workers and sends them tasks at once in later experiment
    runs. The experiment travels with the first batch on each link. See
    :mod:`~crystallize.execution.dask_service`.

    The connections run on a :class:`PrivateLoop` in the calling thread. Each
    batch goes to the worker with the fewest batches per thread, so that
    every worker holds one batch to run next. A connection that breaks means
    its worker died or left: of its batches, those that may have been running
    come back :class:`Lost` as started, the rest as not started. While
    waiting, and every couple of seconds, the pool asks the scheduler which
    workers are there: it takes in workers that joined (a cluster may scale
    up; a restarted worker comes back at a new address) and
    drops those that left, even when their connection hangs. A worker that
    died is not used again in the experiment run, unless the pool restarted
    it itself (after a timeout) and it came back at its old address.
    """

    def __init__(self, client: Any, task: ShippedTask) -> None:
        self.client = client
        self._task = task
        self._nonce = secrets.token_bytes(16)  # proves the client to data ports: never sent where others see it
        self._session = secrets.token_hex(16)  # names the experiment run on workers sent tasks
        self._tasked: set[str] = set()  # workers sent tasks: told when the experiment run ends
        self._loop = PrivateLoop()
        self._links: dict[str, Link] = {}  # worker -> its connection
        self._gone: set[str] = set()  # workers that died, left or were restarted
        self._retry_at: dict[str, float] = {}  # unreachable workers: when to try again
        self._backoff: dict[str, float] = {}
        self._calls: dict[int, Link] = {}  # batch handle -> where it went
        self._starts: dict[int, float] = {}
        self._collateral: set[int] = set()  # batches on a worker restarted after a timeout
        self._handles = itertools.count()
        self._done: asyncio.Queue[tuple[Link, int | None, Any]] | None = None
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
            now = time.monotonic()
            new = {w: n for w, n in threads.items() if w not in self._links and self._retry_at.get(w, 0) <= now}
            if new:
                self._connect(new)
            for worker in set(self._links) - set(threads):
                log.warning("Dask worker %s left the cluster", worker)
                self._forget(worker)
            self._refreshed = time.monotonic()
            self.slots = sum(link.capacity for link in self._links.values())
            if self.slots:
                self.depth = 2 * self.slots
                return
            if time.monotonic() > deadline:
                raise BackendError(f"the Dask cluster has had no worker able to run the experiment for "
                                   f"{_WORKER_WAIT:g} s; start workers, or run with another backend")
            time.sleep(0.1)

    def _connect(self, threads: dict[str, int]) -> None:
        """Open a data connection to each worker in ``threads``, else a Dask comm
        to its batch handler, else send it batches as Dask tasks."""
        workers = list(threads)
        remote = _remote_on(self.client)
        try:
            answers = self._ask(open_data_port, [w for w in workers if w not in remote], nonce=self._nonce)
            answers.update(self._ask(open_data_port, [w for w in workers if w in remote], nonce=self._nonce,
                                     listen=False))
        except (OSError, ValueError, KeyError) as exc:  # a worker left meanwhile; the next look retries
            log.debug("could not open data ports on %s: %s", workers, exc)
            return
        self._loop.run(self._open_data({w: a for w, a in answers.items() if a["port"] is not None}))
        rest = [w for w in answers if w not in self._links and w not in remote]
        if rest:
            self._loop.run(self._open_comms(self._install({w: answers[w] for w in rest})))
        far = {w: a for w, a in answers.items() if w not in self._links}
        if far:
            self._loop.run(self._open_tasks(far))
        for worker in workers:  # not answering: try again later, less and less often
            if worker in self._links:
                self._retry_at.pop(worker, None)
                self._backoff.pop(worker, None)
            else:
                self._backoff[worker] = min(2 * self._backoff.get(worker, _REFRESH / 2), 60.0)
                self._retry_at[worker] = time.monotonic() + self._backoff[worker]

    def _ask(self, function: Any, workers: list[str], **kwargs: Any) -> dict[str, dict[str, Any]]:
        """What ``function`` answers on each of ``workers`` (through ``client.run``) that answered.

        Raises:
            BackendError: a worker cannot run crystallize's side of the backend.
        """
        if not workers:
            return {}
        answers = self.client.run(function, workers=workers, on_error="return", **kwargs)
        for worker, answer in answers.items():
            if not isinstance(answer, (dict, OSError, TimeoutError)):
                raise BackendError(
                    f"Dask worker {worker} cannot run crystallize's side of the backend: "
                    f"{type(answer).__name__}: {answer}. Install the same version of crystallize "
                    f"({_version()}) in the workers' environment") from (answer if isinstance(answer, Exception)
                                                                         else None)
        return {w: a for w, a in answers.items() if isinstance(a, dict)}

    async def _open_data(self, answers: dict[str, dict[str, Any]]) -> None:
        """A data connection to each worker of ``answers`` whose port takes it."""

        async def open_one(worker: str, answer: dict[str, Any]) -> None:
            host, port = answer["host"], answer["port"]
            stream = None
            try:
                stream = await asyncio.wait_for(asyncio.open_connection(host, port), _CONNECT_WAIT)
                stream[1].write(self._nonce)
                accepted = await asyncio.wait_for(stream[0].readexactly(len(ACCEPTED)), _CONNECT_WAIT)
                if accepted != ACCEPTED:
                    raise ConnectionError(f"the data port answered {accepted!r}")
            except (OSError, EOFError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
                if stream is not None:
                    stream[1].transport.abort()
                log.info("no direct data connection to Dask worker %s at %s:%d (%r); using Dask's own connection",
                         worker, host, port, exc)
                return
            keep_alive(stream[1].get_extra_info("socket"))
            self._adopt(worker, Connection(worker, answer["threads"], stream))

        await asyncio.gather(*(open_one(worker, answer) for worker, answer in answers.items()))

    def _install(self, answers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Those of ``answers``' workers that have the batch handler, registering it where needed."""
        installed = _installed_on(self.client)
        missing = [w for w, answer in answers.items() if answer["id"] not in installed]
        if missing:
            try:
                done = self.client.run(install_service, workers=missing, on_error="return")
            except (OSError, ValueError, KeyError) as exc:  # a worker left meanwhile; the next look retries
                log.debug("could not register the batch handler on %s: %s", missing, exc)
                done = {}
            installed.update(answers[w]["id"] for w, ok in done.items() if ok is True)
        return {w: answer for w, answer in answers.items() if answer["id"] in installed}

    async def _open_comms(self, answers: dict[str, dict[str, Any]]) -> None:
        async def open_one(worker: str, answer: dict[str, Any]) -> None:
            comm = None
            try:
                comm = await connect(worker, timeout=_CONNECT_WAIT, **self.client.connection_args)
                await comm.write({"op": HANDLER, "reply": False})
            except (OSError, asyncio.TimeoutError) as exc:
                if comm is not None:
                    comm.abort()
                log.info("cannot reach Dask worker %s from here (%r); its batches go as Dask tasks through the "
                         "scheduler", worker, exc)
                _remote_on(self.client)[worker] = time.monotonic()
                return
            self._adopt(worker, Connection(worker, answer["threads"], None, comm))

        await asyncio.gather(*(open_one(w, a) for w, a in answers.items()))

    async def _open_tasks(self, answers: dict[str, dict[str, Any]]) -> None:
        """Send the batches of each worker of ``answers`` as Dask tasks pinned to it."""
        for worker, answer in answers.items():
            self._adopt(worker, TaskLink(worker, answer["threads"], self.client, answer["id"]))
            self._tasked.add(worker)

    def _adopt(self, worker: str, link: Link) -> None:
        """Start using ``link`` to ``worker`` and reading its answers."""
        if self._done is None:
            self._done = asyncio.Queue()
        self._links[worker] = link
        asyncio.ensure_future(self._read(link))

    async def _read(self, link: Link) -> None:
        assert self._done is not None
        while True:
            try:
                message = await link.receive()
            except Exception as exc:  # noqa: BLE001 - the connection broke: the worker died or left
                self._done.put_nowait((link, None, exc))
                return
            self._done.put_nowait((link, message["id"], message))

    def _forget(self, worker: str) -> None:
        """Stop using ``worker`` and close its connections (its batches then come back lost)."""
        link = self._links.pop(worker, None)
        self._gone.add(worker)
        if link is not None:
            self._loop.call(link.close)

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Send ``batch`` on the least loaded connection (with the experiment, the first time to a worker)."""
        if not self._links or time.monotonic() - self._refreshed > _REFRESH:
            self._refresh()  # take in workers that joined or restarted
        link = min(self._links.values(), key=lambda k: k.load / k.capacity)
        handle = next(self._handles)
        message = {"id": handle, "token": self._task.token, "session": self._session,
                   "batch": pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)}
        if not link.loaded:
            message["blob"] = self._task.blob
            link.loaded = True
        self._calls[handle] = link
        self._starts[handle] = time.monotonic()
        link.load += 1
        self._loop.spawn(self._send(link, message))
        return handle

    @staticmethod
    async def _send(link: Link, message: dict[str, Any]) -> None:
        try:
            await link.send(message)
        except Exception:  # noqa: BLE001 - its reader reports the broken connection
            link.close()

    async def _wait(self, timeout: float) -> list[tuple[Link, int | None, Any]]:
        """What came back within ``timeout`` seconds (a short look when it is 0,
        so that answers already on the wire are read)."""
        assert self._done is not None
        if self._done.empty():
            try:
                finished = [await asyncio.wait_for(self._done.get(), max(timeout, 0.002))]
            except asyncio.TimeoutError:
                return []
        else:
            finished = []
        while not self._done.empty():
            finished.append(self._done.get_nowait())
        return finished

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished within ``timeout`` seconds.

        It waits at most a couple of seconds at a time and then asks the
        scheduler which workers are there, so that a worker whose connection
        hangs without breaking (a machine gone from the network) is found out.
        """
        wait = _REFRESH if timeout is None else min(timeout, _REFRESH)
        outcomes: list[tuple[Hashable, Outcome]] = []
        for link, handle, message in self._loop.run(self._wait(wait)):
            if handle is None:
                outcomes.extend(self._lost(link, message))
            elif self._calls.pop(handle, None) is not None:  # else killed after a timeout
                self._starts.pop(handle, None)
                link.load -= 1
                if "error" in message:
                    raise _unpickled_error(message["error"], link.worker)
                outcomes.append((handle, pickle.loads(message["result"])))  # noqa: S301 - from our own worker side
        if not outcomes and time.monotonic() - self._refreshed > _REFRESH:
            self._refresh()  # forgets workers the scheduler no longer lists: their batches come back lost
        return outcomes

    def _lost(self, link: Link, error: Exception) -> list[tuple[Hashable, Outcome]]:
        """The batches in flight on ``link``, whose connection broke.

        A worker runs its batches in the order they were sent, ``capacity`` at
        a time: the first ``capacity`` unanswered may have been running when it
        died, the others had not started (none had, if the link says none ran).
        """
        worker = link.worker
        if self._links.get(worker) is link:
            log.warning("lost Dask worker %s: %r", worker, error)
            self._forget(worker)
            self._refresh()
        lost: list[tuple[Hashable, Outcome]] = []
        mine = sorted(h for h, k in self._calls.items() if k is link)
        for position, handle in enumerate(mine):
            del self._calls[handle]
            self._starts.pop(handle, None)
            if handle in self._collateral:
                self._collateral.discard(handle)
                lost.append((handle, Lost(False, "its worker was restarted")))
            elif position >= link.capacity or not link.ran:  # queued, or the experiment never loaded there
                lost.append((handle, Lost(False, "its worker died before it started")))
            else:
                lost.append((handle, Lost(True, f"the Dask worker running this run died ({error!r})",
                                          certain=False)))
        return lost

    def started(self, handle: Hashable) -> float | None:
        """When the batch was sent (with one batch per worker thread in flight,
        when it started, unless the worker is busy with other clients' tasks)."""
        return self._starts.get(handle)  # type: ignore[call-overload]

    def kill(self, handle: Hashable) -> str:
        """Restart the worker running the batch through its nanny."""
        link: Link | None = self._calls.pop(handle, None)  # type: ignore[call-overload]
        self._starts.pop(handle, None)  # type: ignore[call-overload]
        if link is None or self._links.get(link.worker) is not link:
            return "its Dask worker was already gone"
        worker = link.worker
        self._collateral.update(h for h, k in self._calls.items() if k is link)
        self._forget(worker)
        try:
            status = self.client.restart_workers([worker], raise_for_error=False)
        except (ValueError, OSError, TimeoutError) as exc:  # e.g. a worker without a nanny
            status = {worker: repr(exc)}
        if status.get(worker) == "OK" and worker in self.client.nthreads():
            self._gone.discard(worker)  # restarted at its old address (fixed ports): a fresh worker
        self._refresh()
        if any(v != "OK" for v in status.values()):
            log.warning("could not restart Dask worker %s after a timeout: %s", worker, status)
            return f"its Dask worker could not be restarted ({status.get(worker)}); no more runs are sent there"
        return "its Dask worker was restarted"

    def close(self) -> None:
        """Close the connections: each worker skips the runs it has not started
        (a run already executing finishes)."""
        for link in self._links.values():
            self._loop.call(link.close)
        self._links.clear()
        self._loop.close()
        if self._tasked:  # they drop the experiment, and a batch still running stops after its run
            with contextlib.suppress(Exception):  # e.g. the scheduler is gone
                there = self._tasked & set(self.client.nthreads())  # a dead address would hold the scheduler up
                self.client.run(end_task_session, self._session, workers=sorted(there), wait=False)
