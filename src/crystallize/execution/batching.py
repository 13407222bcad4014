"""The scheduling loop every parallel backend shares.

A backend supplies a small :class:`Pool` (submit a batch, poll for finished
batches, kill a batch's worker); :func:`run_batches` does the rest, in the
calling thread:

* **Batching.** The first batches hold one run each; later batches are sized
  from the measured run durations so that a batch lasts about
  ``pool.target`` seconds (tiny runs do not drown in scheduling), capped so
  that at least four batches per worker remain (long runs still balance).
  With ``timeout=`` every batch holds one run, so a timeout stops only its run.
* **Streaming.** Records are emitted as their batch returns, in any order.
* **Dead workers.** When a worker dies, a batch of one run is recorded as
  failed (``WorkerDied``); the runs of a larger batch are run again one by
  one, so only the run that kills its worker fails. Runs that had not started
  are simply run again. When the pool cannot tell whether a lost batch was
  running or only queued on the dead worker, its runs are run again one at a
  time with nothing else in flight, and only a run that dies that way fails.
  Every run is seeded, so a re-run gives the same numbers.
* **Timeouts.** A run that has executed on its worker for ``timeout``
  seconds is recorded with status ``"timeout"`` and its worker is stopped (how
  depends on the pool). The clock starts when the worker begins the run
  (``pool.started``): time queued, or spent starting a worker, never counts.
* **Interrupts.** A Ctrl-C or SIGTERM during the experiment run is acted on at
  the top of the loop (see :mod:`~crystallize.execution.interrupts`), never
  between receiving a batch and emitting its records; the loop blocks at most
  ``interrupts.TICK`` seconds at a time. ``KeyboardInterrupt`` raised by a run
  on a worker stops the loop as it would in the calling thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.execution import interrupts
from crystallize.execution.base import RUN_TIMEOUT, WORKER_DIED, Emit, lost_record
from crystallize.execution.rounds import each_round
from crystallize.execution.worker import BatchResult

__all__ = ["BatchSizer", "Lost", "Outcome", "Pool", "run_batches"]

_MAX_BATCH = 5000
_LONGEST_WAIT = 3600.0  # seconds one poll may block (selectors refuse waits past ~24 days)


@dataclass(frozen=True, slots=True)
class Lost:
    """A batch that returned no result because its worker went away.

    Attributes:
        started: whether any of its runs may have begun (``False``: run them again).
        reason: what happened, for the failed records.
        certain: the batch was running on the worker that died (``False``: it
            may only have been queued there, as Dask cannot tell).
    """

    started: bool
    reason: str
    certain: bool = True


Outcome = BatchResult | Lost


class Pool(Protocol):
    """Where batches run: the part of a backend that differs between engines."""

    #: batches that run at the same time (workers, or worker threads)
    slots: int
    #: batches kept in flight (``slots`` are kept when a timeout is set); both may change as workers come and go
    depth: int
    #: seconds a batch should last so that dispatch costs little
    target: float

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Start ``batch`` (or queue it); return a handle."""
        ...

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Wait up to ``timeout`` seconds (``None``: until one is done); return finished batches."""
        ...

    def started(self, handle: Hashable) -> float | None:
        """``time.monotonic()`` when the batch began running, ``None`` if still queued."""
        ...

    def kill(self, handle: Hashable) -> str:
        """Stop a batch past its timeout; say what happened to its worker."""
        ...


class BatchSizer:
    """Sizes batches from the measured duration of the runs so far.

    Args:
        slots: batches that run at once.
        target: seconds a batch should last.
        single: always one run per batch (used with timeouts).
        shortest: seconds a batch lasts at least, balance or not, once four
            runs per slot are measured (a pool whose every batch costs its
            scheduler a few milliseconds: Dask).
    """

    def __init__(self, slots: int, target: float, *, single: bool = False, shortest: float = 0.0) -> None:
        self.slots = max(1, slots)
        self.target = target
        self.single = single
        self.shortest = shortest
        self._runs = 0
        self._seconds = 0.0

    def observe(self, records: Sequence[RunRecord]) -> None:
        """Account for finished runs."""
        self._runs += len(records)
        self._seconds += sum(r.duration for r in records)

    def size(self, remaining: int) -> int:
        """How many of the ``remaining`` runs the next batch takes."""
        if self.single or self._runs == 0:
            return 1
        mean = max(self._seconds / self._runs, 1e-7)
        balanced = math.ceil(remaining / (self.slots * 4))
        if self._runs >= self.slots * 4:  # a few runs per slot tell the shortest batch's size well enough
            balanced = max(balanced, math.ceil(self.shortest / mean))
        return max(1, min(math.ceil(self.target / mean), balanced, _MAX_BATCH))


def run_batches(pool: Pool, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None,
                drain: threading.Event | None = None) -> None:
    """Run every spec on ``pool`` and ``emit`` each record (see the module doc).

    Args:
        pool: where batches run.
        specs: the runs.
        emit: receives each record.
        timeout: seconds a run may execute on its worker.
        drain: once set, no further batch is sent; the batches in flight are
            awaited and their records emitted, then this returns.

    Raises:
        KeyboardInterrupt: a run raised it, or Ctrl-C / SIGTERM asked the
            experiment run to stop; the records before it were emitted.
    """
    fresh: deque[RunSpec] = deque(specs)
    suspects: deque[tuple[RunSpec, bool]] = deque()  # (run, alone): shared a batch with a dead worker
    sizer = BatchSizer(pool.slots, pool.target, single=timeout is not None, shortest=getattr(pool, "shortest", 0.0))
    inflight: dict[Hashable, tuple[list[RunSpec], bool]] = {}
    # a Ctrl-C is acted on at the top of the loop, never between receiving a batch and emitting its records
    longest = interrupts.TICK if interrupts.active() is not None else _LONGEST_WAIT

    def take(finished: list[tuple[Hashable, Outcome]]) -> None:
        for handle, outcome in finished:
            batch, alone = inflight.pop(handle)
            if isinstance(outcome, Lost):
                if not outcome.started and alone:
                    suspects.appendleft((batch[0], True))
                elif not outcome.started:
                    fresh.extendleft(reversed(batch))
                elif len(batch) == 1 and (outcome.certain or alone):
                    emit(lost_record(batch[0], "failed", WORKER_DIED, outcome.reason))
                else:
                    suspects.extend((spec, not outcome.certain) for spec in batch)
                continue
            sizer.observe(outcome.records)
            for record in outcome.records:
                emit(record)
            if outcome.interrupted:
                raise KeyboardInterrupt(f"a run raised KeyboardInterrupt ({len(outcome.records)} of its batch done)")

    rounds = each_round(specs)
    next(rounds)  # the first round is ``fresh`` already

    def next_round() -> bool:
        """Take the next round's runs, when the specs come in rounds and no stop was asked for."""
        if drain is None or not drain.is_set():
            fresh.extend(next(rounds, ()))
        return bool(fresh)

    with interrupts.deferred():
        while fresh or suspects or inflight or next_round():
            interrupts.checkpoint()
            if drain is not None and drain.is_set():
                fresh.clear()
                suspects.clear()
                if not inflight:
                    break
            # with timeouts, submitted == started; for the last runs no new batch is queued ahead: where a pool
            # assigns a batch to a worker when it is sent (Dask), none then waits behind a busy worker while
            # another is free (elsewhere this costs a round trip per batch, for a handful of batches)
            depth = pool.slots if timeout is not None or len(fresh) <= 2 * pool.slots else pool.depth
            sizer.slots = max(1, pool.slots)
            _fill(pool, fresh, suspects, inflight, sizer, depth)
            wait = _wait(pool, inflight, timeout)
            take(pool.poll(longest if wait is None else min(wait, longest)))
            if timeout is not None and _overdue(pool, inflight, timeout):
                while late := pool.poll(0):  # answers that came in while records were emitted are no timeouts
                    take(late)
                _expire(pool, inflight, timeout, emit)


def _fill(pool: Pool, fresh: deque[RunSpec], suspects: deque[tuple[RunSpec, bool]],
          inflight: dict[Hashable, tuple[list[RunSpec], bool]], sizer: BatchSizer, depth: int) -> None:
    """Submit batches until ``depth`` are in flight; a run to retry alone waits
    for an empty pool and then runs by itself."""
    while len(inflight) < depth and (fresh or suspects) and not any(alone for _, alone in inflight.values()):
        if suspects:
            spec, alone = suspects[0]
            if alone and inflight:
                return
            suspects.popleft()
            inflight[pool.submit([spec])] = ([spec], alone)
            continue
        batch = [fresh.popleft() for _ in range(min(sizer.size(len(fresh)), len(fresh)))]
        inflight[pool.submit(batch)] = (batch, False)


def _wait(pool: Pool, inflight: dict[Hashable, tuple[list[RunSpec], bool]], timeout: float | None) -> float | None:
    """How long ``poll`` may block: until the earliest deadline, if any."""
    if timeout is None:
        return None
    starts = [s for s in map(pool.started, inflight) if s is not None]
    if not starts:
        return 0.05  # queued batches only: look again soon
    return max(0.0, min(starts) + timeout - time.monotonic())


def _overdue(pool: Pool, inflight: dict[Hashable, tuple[list[RunSpec], bool]], timeout: float) -> bool:
    now = time.monotonic()
    return any(s is not None and now - s >= timeout for s in map(pool.started, inflight))


def _expire(pool: Pool, inflight: dict[Hashable, tuple[list[RunSpec], bool]], timeout: float, emit: Emit) -> None:
    now = time.monotonic()
    for handle, (batch, _) in list(inflight.items()):
        started = pool.started(handle)
        if started is None or now - started < timeout:
            continue
        del inflight[handle]
        what = pool.kill(handle)
        for spec in batch:
            emit(lost_record(spec, "timeout", RUN_TIMEOUT,
                             f"run {spec.condition}/{spec.replicate} took longer than timeout={timeout:g}s; {what}",
                             now - started))
