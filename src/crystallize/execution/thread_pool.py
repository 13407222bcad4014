"""The pool of the threads backend: daemon threads that never hold up the program.

A ``concurrent.futures.ThreadPoolExecutor`` joins its threads when the
interpreter exits, so one run stuck past its timeout keeps a finished program
alive until the run returns, and it keeps occupying one of the pool's threads
meanwhile. Here the threads are daemon threads of our own: a timed-out run's
thread is abandoned (it runs on until the run returns, its result discarded,
then ends) and another thread takes its place, and the program may exit while
an abandoned run is still going.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence

from crystallize.core.plan import RunSpec
from crystallize.execution.batching import Outcome
from crystallize.execution.worker import BatchResult

__all__ = ["ThreadPool"]

_Job = tuple[int, list[RunSpec]]


class ThreadPool:
    """``size`` daemon threads running batches (a :class:`~crystallize.execution.batching.Pool`).

    Args:
        run: runs one batch (in a pool thread).
        size: threads.
    """

    def __init__(self, run: Callable[[Sequence[RunSpec]], BatchResult], size: int) -> None:
        self.slots = size
        self.depth = 2 * size
        self.target = 0.01
        self._run = run
        self._ids = itertools.count()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[int, BatchResult | BaseException]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._starts: dict[int, float] = {}  # batch -> when a thread began it
        self._running: set[int] = set()  # batches a thread is running
        self._abandoned: set[int] = set()  # batches past their timeout (or interrupted): results discarded
        self._serving = 0  # threads taking new batches
        self._closed = False
        for _ in range(size):
            self._add_thread()

    def _add_thread(self) -> None:
        self._serving += 1
        threading.Thread(target=self._serve, name="crystallize-run", daemon=True).start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            handle, batch = job
            with self._lock:
                if self._closed:
                    return
                self._starts[handle] = time.monotonic()
                self._running.add(handle)
            result: BatchResult | BaseException
            try:
                result = self._run(batch)
            except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
                result = exc
            with self._lock:
                self._running.discard(handle)
                if handle in self._abandoned:
                    return  # another thread took this one's place
            self._done.put((handle, result))

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Queue ``batch`` for the next free thread."""
        handle = next(self._ids)
        self._jobs.put((handle, batch))
        return handle

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished within ``timeout`` seconds.

        Raises:
            BaseException: what a batch raised outside its runs.
        """
        out: list[tuple[Hashable, Outcome]] = []
        try:
            item = self._done.get(timeout=timeout)
            while True:
                handle, result = item
                with self._lock:
                    self._starts.pop(handle, None)
                if isinstance(result, BaseException):
                    raise result
                out.append((handle, result))
                item = self._done.get_nowait()
        except queue.Empty:
            pass
        return out

    def started(self, handle: Hashable) -> float | None:
        """When a thread began the batch (``None``: still queued)."""
        with self._lock:
            return self._starts.get(handle)  # type: ignore[call-overload, no-any-return]

    def kill(self, handle: Hashable) -> str:
        """Abandon a batch past its timeout; another thread takes its place."""
        with self._lock:
            self._abandoned.add(handle)  # type: ignore[arg-type]
            self._starts.pop(handle, None)  # type: ignore[call-overload]
            replaced = handle in self._running
            if replaced:
                self._serving -= 1
        if replaced:
            self._add_thread()
        return ("a thread cannot be stopped, so it runs on in the background until the run returns, its "
                "result discarded (a daemon thread: it does not keep the program from exiting)")

    def close(self) -> int:
        """Stop the threads: batches not started are dropped, runs in progress
        are abandoned. Returns how many threads still execute a run (timed out
        or interrupted); each ends when its run returns."""
        with self._lock:
            self._closed = True
            self._abandoned.update(self._running)
            serving, self._serving = self._serving, 0
            busy = len(self._running)
        for _ in range(serving):
            self._jobs.put(None)
        return busy
