"""Run specs on threads of this process."""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Sequence

import numpy as np

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.execution.base import Emit, RunFn, lost_record
from crystallize.execution.batching import run_batches
from crystallize.execution.errors import SharedRandomStateError
from crystallize.execution.thread_pool import ThreadPool
from crystallize.execution.worker import BatchResult, run_batch

__all__ = ["ThreadsBackend"]

log = logging.getLogger("crystallize")

_FRESH = 624  # position of both Mersenne Twisters right after seeding


def globals_untouched() -> bool:
    """Whether nothing drew from ``random`` or NumPy's global generator since
    they were last seeded (exact unless a multiple of 624 words was drawn)."""
    state = np.random.get_state(legacy=False)
    return random.getstate()[1][-1] == _FRESH and state["state"]["pos"] == _FRESH and not state["has_gauss"]


def _shared_state_message(spec: RunSpec) -> str:
    return (f"backend='threads': Python's `random` module or NumPy's global generator (np.random.*) was drawn "
            f"from while run {spec.key} executed (by it, or by a run beside it). Threads share them, so runs "
            "executing at once change each other's numbers. Draw from ctx.rng (a numpy Generator seeded for "
            "each run), or use backend='processes' (same numbers as serial), or workers=1")


class _Guarded:
    """The task, checking after each successful run that it left the shared
    generators alone. A run that did not is recorded as failed (its numbers
    cannot be trusted) and ``tripped`` is set: the experiment run stops."""

    def __init__(self, task: RunFn) -> None:
        self.task = task
        self.tripped = threading.Event()
        self.first: RunSpec | None = None

    def __call__(self, spec: RunSpec) -> RunRecord:
        record = self.task(spec)
        if record.ok and not globals_untouched():
            if not self.tripped.is_set():
                self.first = spec
                self.tripped.set()
            return lost_record(spec, "failed", "SharedRandomStateError", _shared_state_message(spec),
                               record.duration)
        return record


class ThreadsBackend:
    """Runs on ``workers`` threads of this process.

    Threads pay off when runs release the GIL (NumPy, I/O, native code) and
    need no pickling: any experiment runs as is.

    Randomness: Python's ``random`` module and NumPy's global generator are
    process-wide, so with more than one worker, runs that execute at once would
    draw from each other's streams. This backend therefore requires runs to
    take their randomness from ``ctx.rng`` (or a generator they seed from
    ``ctx["seed"]``); with that, every number is bit-identical to the serial
    backend's. After each run it checks that the global generators are still
    as seeding left them (reliably when every run draws from them; a run that
    drew just before another run was seeded can escape the check). A run that
    drew from them is recorded as failed (``SharedRandomStateError``, its
    numbers discarded); then no new run starts, the runs in progress finish
    and are recorded, and :class:`SharedRandomStateError` is raised with the
    partial result. With ``workers=1`` runs never overlap and the globals are
    safe.

    ``timeout``: a thread cannot be stopped. A run past its timeout is recorded
    with status ``"timeout"`` at the deadline, and another thread takes its
    place; its own thread runs on in the background until the run returns, and
    its result is discarded. The same holds for runs in progress when the
    experiment is interrupted. The pool's threads are daemon threads, so such
    a run never keeps the program from exiting (it is cut short if the program
    ends first); a warning is logged when ``run()`` returns while one is still
    going. Use ``backend="processes"`` for hard limits.

    Args:
        workers: threads (default: the number of CPUs).
    """

    name = "threads"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec on the threads and ``emit`` each record.

        Raises:
            SharedRandomStateError: a run drew from the shared global generators
                (after every run in progress was recorded).
        """
        guard = _Guarded(task) if self.workers > 1 else None
        checked: RunFn = guard if guard is not None else task
        stop = guard.tripped if guard is not None else None

        def run(batch: Sequence[RunSpec]) -> BatchResult:
            return run_batch(checked, batch, stop)

        pool = ThreadPool(run, self.workers)
        try:
            run_batches(pool, specs, emit, timeout=timeout, drain=stop)
        finally:
            if busy := pool.close():
                log.warning("%d run(s) timed out or interrupted still execute on background threads; their "
                            "results are discarded, and the program can exit before they end", busy)
        if guard is not None and guard.first is not None:
            raise SharedRandomStateError(_shared_state_message(guard.first))
