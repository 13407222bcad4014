"""Run every spec in this process, one after another."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.execution.base import RUN_TIMEOUT, Emit, RunFn, lost_record
from crystallize.execution.rounds import each_round

__all__ = ["SerialBackend"]


class _Expired(BaseException):
    """Raised inside a run by the timer; a ``BaseException`` so that a run's
    ``except Exception`` does not swallow it."""


def _raise_expired(signum: int, frame: FrameType | None) -> None:
    raise _Expired


class SerialBackend:
    """The default backend: in this process, in plan order.

    ``timeout``: on POSIX, in the main thread, a timer (``SIGALRM``) interrupts
    a run that takes longer, between two Python bytecodes: a run stuck inside
    one long call into native code is interrupted when that call returns. The
    run is recorded with status ``"timeout"``. Elsewhere (Windows, or
    ``Experiment.run`` called from another thread) a run cannot be interrupted:
    it is recorded as ``"timeout"`` after it finishes late, and its metrics are
    discarded. For hard limits use ``backend="processes"``, which replaces the
    worker process.
    """

    name = "serial"

    def __init__(self, workers: int | None = None) -> None:
        del workers

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec in order and ``emit`` each record."""
        if timeout is None:
            for specs_of_round in each_round(specs):
                for spec in specs_of_round:
                    emit(task(spec))
            return
        use_timer = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGALRM, _raise_expired) if use_timer else None
        try:
            for specs_of_round in each_round(specs):
                for spec in specs_of_round:
                    emit(_timed(task, spec, timeout, use_timer))
        finally:
            if use_timer:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)


def _timed(task: RunFn, spec: RunSpec, timeout: float, use_timer: bool) -> RunRecord:
    clock = time.perf_counter()
    try:
        if use_timer:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            record = task(spec)
        finally:
            if use_timer:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except _Expired:
        return lost_record(spec, "timeout", RUN_TIMEOUT,
                           f"run {spec.key} took longer than timeout={timeout:g}s and was interrupted",
                           time.perf_counter() - clock)
    elapsed = time.perf_counter() - clock
    if elapsed > timeout:
        return lost_record(spec, "timeout", RUN_TIMEOUT,
                           f"run {spec.key} took {elapsed:.3g}s, longer than timeout={timeout:g}s "
                           "(it could not be interrupted here; its metrics were discarded)", elapsed)
    return record
