"""The shared driver: hands runs to a backend, streams records to listeners,
stops on request, and keeps every finished record whatever happens."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.execution import interrupts
from crystallize.execution.base import Backend, RunFn
from crystallize.execution.progress import close_open_bars

__all__ = ["StopRun", "drive"]

log = logging.getLogger("crystallize")


class StopRun(Exception):
    """Raised by a listener to stop the experiment run; ``cause`` is re-raised."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def drive(
    backend: Backend, task: RunFn, specs: Sequence[RunSpec], listener: Any, *, timeout: float | None = None
) -> tuple[list[RunRecord], bool]:
    """Execute ``specs`` on ``backend``; return the finished records and whether
    the run was interrupted (Ctrl-C, SIGTERM: see :mod:`~crystallize.execution.interrupts`).
    Errors (from listeners or the backend), and a second Ctrl-C, propagate after
    the backend has stopped, with the records so far attached as
    ``exc.records``. However the run ends, the progress bar is closed."""
    records: list[RunRecord] = []
    signals = interrupts.active()

    def emit(record: RunRecord) -> None:
        records.append(record)
        listener.on_run_complete(record)

    def emit_safely(record: RunRecord) -> None:
        assert signals is not None
        signals.safe += 1  # a Ctrl-C while the record is stored only asks to stop
        try:
            records.append(record)
            listener.on_run_complete(record)
        finally:
            signals.safe -= 1
        if signals.received is not None and not signals.safe:  # in the scheduling loop, at its next turn
            signals.check()

    try:
        if not specs:
            return records, False
        if signals is None:
            backend.execute(task, specs, emit, timeout=timeout)
        else:
            signals.check()
            signals.armed = True
            try:
                backend.execute(task, specs, emit_safely, timeout=timeout)
            finally:
                signals.armed = False
            signals.check()  # a request that came with the last records still marks the run interrupted
    except KeyboardInterrupt as exc:
        if signals is not None and signals.aborted:
            exc.records = records  # type: ignore[attr-defined]
            log.warning("aborted: %d of %d runs finished", len(records), len(specs))
            raise
        if signals is not None:
            signals.handled = True
        why = f"{signals.name} received" if signals is not None and signals.name else "interrupted"
        log.warning("%s: %d of %d runs finished; returning a partial result", why, len(records), len(specs))
        return records, True
    except StopRun as stop:
        stop.cause.records = records  # type: ignore[attr-defined]
        raise stop.cause from None
    except BaseException as exc:
        with contextlib.suppress(AttributeError, TypeError):
            exc.records = records  # type: ignore[attr-defined]
        raise
    finally:
        close_open_bars()
    return records, False
