"""The shared driver: hands runs to a backend, streams records to listeners,
stops on request, and keeps every finished record whatever happens."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.execution.base import Backend, RunFn

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
    the run was interrupted (Ctrl-C). Errors raised by listeners propagate
    after the backend has stopped; the records so far are attached to them as
    ``exc.records``."""
    records: list[RunRecord] = []

    def emit(record: RunRecord) -> None:
        records.append(record)
        listener.on_run_complete(record)

    if not specs:
        return records, False
    try:
        backend.execute(task, specs, emit, timeout=timeout)
    except KeyboardInterrupt:
        log.warning("interrupted: %d of %d runs finished; returning a partial result", len(records), len(specs))
        return records, True
    except StopRun as stop:
        stop.cause.records = records  # type: ignore[attr-defined]
        raise stop.cause from None
    return records, False
