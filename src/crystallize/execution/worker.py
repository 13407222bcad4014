"""What runs on a worker: batches of specs against a task that is unpickled
once per worker process and then kept.

The experiment definition (the :class:`~crystallize.core.runner.RunTask`) is
pickled once, with cloudpickle so that lambdas and closures travel, and every
worker keeps the loaded task under a token: later batches of the same
experiment reuse it instead of unpickling it again.
"""

from __future__ import annotations

import pickle
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import NamedTuple

import cloudpickle

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.execution.base import RunFn, lost_record
from crystallize.execution.errors import BackendError

__all__ = ["BatchResult", "ShippedTask", "cached_task", "dump_result", "load_task", "run_batch", "run_shipped_batch", "ship"]

_KEEP = 4  # tasks kept per worker process (older experiments are dropped)
_TASKS: OrderedDict[str, RunFn] = OrderedDict()
_LOCK = threading.Lock()


class BatchResult(NamedTuple):
    """The records of one batch, in batch order, and whether a run raised
    ``KeyboardInterrupt`` (the runs after it did not execute)."""

    records: list[RunRecord]
    interrupted: bool


class ShippedTask(NamedTuple):
    """A task pickled once: a token naming it and its cloudpickle bytes."""

    token: str
    blob: bytes


def ship(task: RunFn, backend: str) -> ShippedTask:
    """Pickle ``task`` with cloudpickle for workers in other processes.

    Raises:
        BackendError: the experiment holds something that cannot be pickled.
    """
    try:
        blob = cloudpickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - reported with what to do
        raise BackendError(
            f"backend={backend!r} cannot send the experiment to its workers: pickling it failed with "
            f"{type(exc).__name__}: {exc}. Keep open files, locks, connections and clients out of the data "
            "source, steps and treatments (create them inside fetch/__call__), or use backend='threads'"
        ) from exc
    return ShippedTask(uuid.uuid4().hex, blob)


def cached_task(token: str) -> RunFn | None:
    """The task named ``token`` if this process has loaded it."""
    with _LOCK:
        task = _TASKS.get(token)
        if task is not None:
            _TASKS.move_to_end(token)
        return task


def load_task(token: str, blob: bytes) -> RunFn:
    """The task named ``token``, unpickled on first use in this process."""
    task = cached_task(token)
    if task is not None:
        return task
    try:
        task = pickle.loads(blob)  # noqa: S301 - our own bytes, made by ship()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported with what to do (sys.exit on import too)
        raise BackendError(
            f"a worker could not load the experiment: {type(exc).__name__}: {exc}. Every module the "
            "experiment's code imports must be importable on the workers (same packages, same sys.path)"
        ) from exc
    with _LOCK:
        _TASKS[token] = task
        while len(_TASKS) > _KEEP:
            _TASKS.popitem(last=False)
    return task


def run_batch(task: RunFn, batch: Sequence[RunSpec], stop: threading.Event | None = None) -> BatchResult:
    """Run ``batch`` in order; a ``KeyboardInterrupt`` ends it early, flagged.
    Once ``stop`` is set, the runs not yet started are skipped."""
    records: list[RunRecord] = []
    try:
        for spec in batch:
            if stop is not None and stop.is_set():
                break
            records.append(task(spec))
    except KeyboardInterrupt:
        return BatchResult(records, True)
    return BatchResult(records, False)


def run_shipped_batch(token: str, blob: bytes, batch: Sequence[RunSpec]) -> BatchResult:
    """:func:`run_batch` for a task shipped with :func:`ship`."""
    return run_batch(load_task(token, blob), batch)


def dump_result(result: BatchResult) -> bytes:
    """Pickle a batch's result to send it back; a record whose values cannot
    be pickled becomes a failed record saying so (the others are kept)."""
    try:
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - fall back record by record
        pass
    records = []
    for record in result.records:
        try:
            cloudpickle.dumps(record)
            records.append(record)
        except Exception as exc:  # noqa: BLE001 - recorded as the run's failure
            spec = RunSpec(record.condition, record.replicate, record.seed)
            records.append(lost_record(spec, "failed", "UnpicklableResult",
                                       f"the run finished but its record cannot be sent back from the worker: "
                                       f"{type(exc).__name__}: {exc}; return plain numbers, strings or arrays "
                                       "as metrics", record.duration))
    return cloudpickle.dumps(BatchResult(records, result.interrupted), protocol=pickle.HIGHEST_PROTOCOL)
