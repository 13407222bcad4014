"""The shared driver: hands runs to a backend, streams records to listeners,
stops on request, and keeps every finished record whatever happens."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
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
    the run was interrupted (Ctrl-C). Errors (from listeners or the backend)
    propagate after the backend has stopped, with the records so far attached
    as ``exc.records``. However the run ends, the progress bar is closed."""
    records: list[RunRecord] = []

    def emit(record: RunRecord) -> None:
        records.append(record)
        listener.on_run_complete(record)

    try:
        if not specs:
            return records, False
        backend.execute(task, specs, emit, timeout=timeout)
    except KeyboardInterrupt:
        log.warning("interrupted: %d of %d runs finished; returning a partial result", len(records), len(specs))
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
