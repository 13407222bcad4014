"""Run specs on threads of this process."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import run_batches
from crystallize.execution.errors import SharedRandomStateError
from crystallize.execution.executor import FuturesPool
from crystallize.execution.worker import BatchResult, run_batch

__all__ = ["ThreadsBackend"]

_FRESH = 624  # position of both Mersenne Twisters right after seeding


def globals_untouched() -> bool:
    """Whether nothing drew from ``random`` or NumPy's global generator since
    they were last seeded (exact unless a multiple of 624 words was drawn)."""
    state = np.random.get_state(legacy=False)
    return random.getstate()[1][-1] == _FRESH and state["state"]["pos"] == _FRESH and not state["has_gauss"]


class _Guarded:
    """The task, checking after each successful run that it left the shared
    generators alone."""

    def __init__(self, task: RunFn) -> None:
        self.task = task

    def __call__(self, spec: RunSpec) -> RunRecord:
        record = self.task(spec)
        if record.ok and not globals_untouched():
            raise SharedRandomStateError(
                f"backend='threads': run {spec.key} drew from Python's `random` module or NumPy's global "
                "generator (np.random.*). Threads share them, so runs executing at once would change each "
                "other's numbers. Draw from ctx.rng (a numpy Generator seeded for each run), or use "
                "backend='processes' (same numbers as serial), or workers=1"
            )
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
    as seeding left them, and raises :class:`SharedRandomStateError` otherwise
    (reliably when every run draws from them; a run that drew just before
    another run was seeded can escape the check). With ``workers=1`` runs
    never overlap and the globals are safe.

    ``timeout``: a thread cannot be stopped. A run past its timeout is recorded
    with status ``"timeout"`` at the deadline; its thread runs on in the
    background until the run returns, and its result is discarded (the
    interpreter waits for it at exit). The same holds for runs in progress when
    the experiment is interrupted. Use ``backend="processes"`` for hard limits.

    Args:
        workers: threads (default: the number of CPUs).
    """

    name = "threads"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec on the threads and ``emit`` each record."""
        checked: RunFn = _Guarded(task) if self.workers > 1 else task

        def run(batch: Sequence[RunSpec]) -> BatchResult:
            return run_batch(checked, batch)

        executor = ThreadPoolExecutor(self.workers, thread_name_prefix="crystallize")
        pool = FuturesPool(executor, run, self.workers, threads=True)
        try:
            run_batches(pool, specs, emit, timeout=timeout)
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown(wait=timeout is None, cancel_futures=True)
