"""The worker side of the Dask backend: what runs the batches on each Dask worker.

Batches reach a worker in one of three ways, the first two opened through ``client.run``:

* **A data port** (:func:`open_data_port`), the fast way. The worker listens
  on a port of its own for the experiment run; the client opens one plain TCP
  connection to it and proves itself with a random nonce it sent through
  Dask. A thread per worker thread takes a batch, runs it and writes its
  result, like a process pool's worker: the worker's event loop takes no
  part, so a batch costs little more than its bytes. Messages are
  length-prefixed pickles.
* **A Dask comm handler** (:func:`install_service`), where the data port
  cannot be used (TLS clusters, ports a firewall closes): the client opens a
  Dask connection naming the handler ``crystallize_batches``, which runs each
  batch on the worker's thread pool. Messages go through Dask's protocol.
* **Dask tasks** (:func:`answer_task`), where the client cannot reach the
  worker at all (a cluster behind a gateway that exposes only its
  scheduler): each batch is a task pinned to the worker, and travels, as its
  result does, the way any Dask task's does.

Every way a message is ``{"id": n, "token": t, "session": s, "batch":
pickled specs}``, the first batch to a worker also carrying ``"blob"`` (the
pickled experiment; as a task, in a batch of no runs of its own), and the answer ``{"id": n, "result": pickled BatchResult}`` or
``{"id": n, "error": pickled exception}`` for a batch that could not run at
all. When a connection closes (the experiment run ended or was interrupted,
or its client died), the runs it sent that have not started are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import pickle
import queue
import socket
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from distributed.comm import CommClosedError, get_address_host
from distributed.core import Status

from crystallize.execution.base import RunFn
from crystallize.execution.errors import BackendError
from crystallize.execution.worker import BatchResult, dump_result, load_task, run_batch

__all__ = [
    "ACCEPTED", "HANDLER", "HEADER", "BatchSession", "answer_task", "end_task_session", "install_service", "keep_alive",
    "open_data_port", "worker_id",
]

#: the name clients open a Dask comm to the batch handler with
HANDLER = "crystallize_batches"
#: the length prefix of a message on a data connection
HEADER = struct.Struct("!Q")
#: what a worker answers a data connection that presented the right nonce
ACCEPTED = b"+"

_ACCEPT_FOR = 60.0  # seconds a data port waits for its connections
_CHECKS = 8  # connections a data port checks at once
_KEEPALIVE = {"TCP_KEEPIDLE": 60, "TCP_KEEPINTVL": 10, "TCP_KEEPCNT": 6}  # a silent peer is given up after ~2 min
_NONCE_WAIT = 10.0  # seconds a new data connection has to prove itself
_ENDED_KEPT = 10_000  # ended experiment runs a worker remembers, to refuse their late batches


class BatchSession:
    """One experiment run's batches on one worker, whichever connection they
    come by: the experiment is loaded from the batch that carries it, and a
    batch that arrives before it (on another connection) waits for it."""

    def __init__(self) -> None:
        self._loaded = threading.Event()
        self._task: RunFn | None = None
        self._error: Exception | None = None

    def answer(self, message: dict[str, Any], stop: threading.Event) -> dict[str, Any]:
        """Run the batch in ``message``; the reply to send back."""
        try:
            if "blob" in message:
                try:
                    self._task = load_task(message["token"], message["blob"])
                except Exception as exc:
                    self._error = exc
                    raise
                except BaseException as exc:  # noqa: BLE001 - e.g. SystemExit from a module imported on load
                    self._error = BackendError(f"loading the experiment on a Dask worker raised "
                                               f"{type(exc).__name__}({exc})")
                    raise self._error from exc
                finally:
                    self._loaded.set()
            while not self._loaded.wait(0.5):
                if stop.is_set():  # the connection closed: nobody reads this answer
                    return {"id": message["id"], "result": dump_result(BatchResult([], False))}
            if self._task is None:
                raise self._error or BackendError("the experiment did not load on this Dask worker")
            batch = pickle.loads(message["batch"])  # noqa: S301 - sent by our own client
            return {"id": message["id"], "result": dump_result(run_batch(self._task, batch, stop))}
        except Exception as exc:  # noqa: BLE001 - sent back to be raised in the calling process
            return {"id": message["id"], "error": _pickled(exc)}
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a run: the worker thread lives on
            return {"id": message["id"], "error": _pickled(BackendError(
                f"a run raised {type(exc).__name__}({exc}) on a Dask worker; a step must not exit the process"))}


class _TaskSessions:
    """The experiment runs whose batches come to this worker as tasks.

    One opens with the task that loads its experiment, which every batch
    task depends on. It ends when its client says so
    (:func:`end_task_session`), or once no batch of it runs and its client no
    longer holds that load task (the run ended or the client is gone: Dask
    keeps a task's result on the worker only while someone holds it). A
    batch of a run that ended here is refused, never answered short: no
    batch waits for an experiment, and no run goes missing unnoticed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[BatchSession, threading.Event, str]] = {}  # name -> session, stop, load key
        self._running: dict[str, int] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()

    def answer(self, message: dict[str, Any], held: Callable[[str], bool]) -> dict[str, Any]:
        """Run the batch of ``message``; ``held`` says whether a load task's key is still on the worker."""
        name = message["session"]
        with self._lock:
            self._drop_released(held, keep=name)
            if name in self._ended:
                raise BackendError("the experiment run that sent this batch has ended on this Dask worker")
            if name not in self._open and "blob" not in message:
                raise BackendError("the experiment of this batch is not loaded on this Dask worker")
            session, stop, _ = self._open.setdefault(name, (BatchSession(), threading.Event(), message["load"]))
            self._running[name] = self._running.get(name, 0) + 1
        try:
            return session.answer(message, stop)
        finally:
            with self._lock:
                if name in self._running:  # else it ended meanwhile
                    self._running[name] -= 1

    def end(self, name: str) -> None:
        """End ``name``: a batch of it still running stops after its current run (nobody reads it)."""
        with self._lock:
            entry = self._end(name)
        if entry is not None:
            entry[1].set()

    def _end(self, name: str) -> tuple[BatchSession, threading.Event, str] | None:
        self._running.pop(name, None)
        self._ended[name] = None
        while len(self._ended) > _ENDED_KEPT:
            self._ended.popitem(last=False)
        return self._open.pop(name, None)

    def _drop_released(self, held: Callable[[str], bool], keep: str) -> None:
        for name, (_, _, key) in list(self._open.items()):
            if name != keep and not self._running.get(name) and not held(key):
                self._end(name)

    def __len__(self) -> int:
        return len(self._open)


_task_sessions = _TaskSessions()


def answer_task(loaded: dict[str, Any] | None, message: dict[str, Any]) -> dict[str, Any]:
    """Run the batch in ``message``, sent as a Dask task pinned to this worker
    (the way through the scheduler); the reply, as on a connection.

    ``loaded`` is the reply of the task that loaded the experiment here (a
    batch of no runs that carries it), on which every batch task depends, so
    that none starts before it; ``None`` for that task itself.

    Raises:
        BackendError: this is not the worker process the batch was meant for
            (it was restarted at the same address), or the batch's
            experiment run has ended here.
    """
    from distributed import get_worker  # noqa: PLC0415 - only ever called on a worker

    if loaded is not None and "error" in loaded:  # the experiment did not load: say why
        return {"id": message["id"], "error": loaded["error"]}
    worker = get_worker()
    if worker_id(worker) != message["worker"]:
        raise BackendError("the Dask worker was restarted since the experiment was sent to it")
    return _task_sessions.answer(message, lambda key: key in worker.state.tasks)


async def end_task_session(session: str) -> None:
    """End the experiment run whose batches came as tasks (run through
    ``client.run`` when it ends): the worker drops its experiment, a batch
    running stops after its current run, and later batches are refused."""
    _task_sessions.end(session)


def worker_id(dask_worker: Any) -> str:
    """The id of the worker process (run through ``client.run``): a worker
    restarted at the same address has a new one."""
    return str(dask_worker.id)


def open_data_port(dask_worker: Any, nonce: bytes, listen: bool = True) -> dict[str, Any]:
    """Listen for the data connection of one experiment run (run through
    ``client.run``): the worker's ``id`` and ``threads``, and the ``host`` and
    ``port`` to connect to (``None`` where the worker speaks TLS, or with
    ``listen=False``: the client then uses the comm handler or tasks)."""
    answer: dict[str, Any] = {"id": worker_id(dask_worker), "threads": dask_worker.state.nthreads, "host": None,
                              "port": None}
    if not listen or not dask_worker.address.startswith("tcp://"):
        return answer
    host = get_address_host(dask_worker.address)
    listener = socket.create_server((host, 0))
    threading.Thread(target=_accept, args=(listener, nonce, answer["threads"]), daemon=True,
                     name="crystallize-accept").start()
    return {**answer, "host": host, "port": listener.getsockname()[1]}


def _read_frame(conn: socket.socket) -> Any:
    """The next message on ``conn``."""
    (size,) = HEADER.unpack(_read_exactly(conn, HEADER.size))
    return pickle.loads(_read_exactly(conn, size))  # noqa: S301 - from our own peer, which proved itself with the nonce


def _accept(listener: socket.socket, nonce: bytes, threads: int) -> None:
    """Serve the first connection that presents ``nonce`` (acknowledged with
    :data:`ACCEPTED`); connections that do not are closed. Each is checked in
    a thread of its own, so that idle connections cannot hold up the right one."""
    deadline = time.monotonic() + _ACCEPT_FOR
    won = threading.Event()
    claim = threading.Lock()
    checking = threading.BoundedSemaphore(_CHECKS)

    def check(conn: socket.socket) -> None:
        conn.settimeout(_NONCE_WAIT)
        try:
            proven = hmac.compare_digest(_read_exactly(conn, len(nonce)), nonce)
        except (OSError, EOFError):
            proven = False
        finally:
            checking.release()
        with claim:
            first = proven and not won.is_set()
            if first:
                won.set()
        if not first:
            _close(conn)
            return
        try:
            conn.sendall(ACCEPTED)
        except OSError:
            _close(conn)
            return
        conn.settimeout(None)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        keep_alive(conn)
        _serve(conn, threads)

    with listener:
        while not won.is_set() and (left := deadline - time.monotonic()) > 0:
            listener.settimeout(min(left, 0.2))
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not checking.acquire(blocking=False):  # a flood of connections: the right one comes again
                _close(conn)
                continue
            try:
                threading.Thread(target=check, args=(conn,), daemon=True, name="crystallize-check").start()
            except RuntimeError:  # no thread to spare
                checking.release()
                _close(conn)


def keep_alive(sock: socket.socket) -> None:
    """Have the kernel probe a quiet connection, so that a peer gone from the
    network (no FIN, no RST) breaks it within minutes instead of never."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in _KEEPALIVE.items():
            if hasattr(socket, name):  # Linux; other systems keep their own timings
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def _close(conn: socket.socket) -> None:
    """Close ``conn`` so that the peer sees it at once (a plain close leaves a
    peer blocked in ``recv`` waiting when another thread of ours reads it)."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def _serve(conn: socket.socket, threads: int) -> None:
    """Run the batches that arrive on ``conn``, ``threads`` at a time, until it closes.

    A reader thread takes messages off the connection as they arrive, so that
    a closed connection stops the batches running (between runs) at once.
    """
    session, stop, send = BatchSession(), threading.Event(), threading.Lock()
    inbox: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()

    def read() -> None:
        try:
            while True:
                inbox.put(_read_frame(conn))
        except (OSError, EOFError, pickle.UnpicklingError):
            stop.set()
            inbox.put(None)

    def work() -> None:
        while (message := inbox.get()) is not None:
            reply = pickle.dumps(session.answer(message, stop), protocol=pickle.HIGHEST_PROTOCOL)
            try:
                with send:
                    conn.sendall(HEADER.pack(len(reply)) + reply)
            except OSError:
                stop.set()
        inbox.put(None)  # pass the end on to the other threads

    threading.Thread(target=read, daemon=True, name="crystallize-read").start()
    others = [threading.Thread(target=work, daemon=True, name="crystallize-batches") for _ in range(threads - 1)]
    for thread in others:
        thread.start()
    try:
        work()
        for thread in others:
            thread.join()
    finally:
        _close(conn)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise EOFError("the connection closed")
        data += chunk
    return bytes(data)


def install_service(dask_worker: Any) -> bool:
    """Register the batch handler on ``dask_worker`` (run through ``client.run``)."""

    async def crystallize_batches(comm: Any) -> Status:
        await _serve_comm(dask_worker, comm)
        return Status.dont_reply  # the connection closed: nothing to answer

    dask_worker.handlers[HANDLER] = crystallize_batches
    return True


async def _serve_comm(worker: Any, comm: Any) -> None:
    """Run the batches that arrive on a Dask comm on the worker's thread pool until it closes."""
    loop = asyncio.get_running_loop()
    session, stop, write = BatchSession(), threading.Event(), asyncio.Lock()
    running: set[asyncio.Future[None]] = set()

    async def run(message: dict[str, Any]) -> None:
        reply = await loop.run_in_executor(worker.executor, session.answer, message, stop)
        async with write:
            with contextlib.suppress(CommClosedError, OSError):
                await comm.write(reply)

    try:
        while True:
            task = asyncio.ensure_future(run(await comm.read()))
            running.add(task)
            task.add_done_callback(running.discard)
    except (CommClosedError, OSError):
        pass  # the experiment run is over, or its client is gone
    finally:
        stop.set()


def _pickled(exc: Exception) -> bytes:
    try:
        return pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an exception that cannot travel is described instead
        return pickle.dumps(BackendError(f"a Dask worker failed to run a batch: {type(exc).__name__}: {exc}"))
