"""The one protocol every backend implements, and the records a backend makes
itself for runs that never returned one (a dead worker, a timeout)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunError, RunRecord, RunStatus

__all__ = ["RUN_TIMEOUT", "WORKER_DIED", "Backend", "Emit", "RunFn", "describe", "lost_record"]

#: Executes one run and never raises for a failing run (``RunTask``).
RunFn = Callable[[RunSpec], RunRecord]
#: Receives each finished record, in any order. It may raise to stop the backend.
Emit = Callable[[RunRecord], None]

#: ``RunError.type`` of a run whose worker died while running it.
WORKER_DIED = "WorkerDied"
#: ``RunError.type`` of a run stopped after ``timeout=`` seconds.
RUN_TIMEOUT = "RunTimeout"

_HOST = socket.gethostname()


@runtime_checkable
class Backend(Protocol):
    """Executes planned runs somewhere and streams their records back.

    A backend knows nothing about hypotheses: it gets a picklable ``task``
    (called once per spec), the specs, and ``emit``. It must call ``emit``
    once per finished run, from the calling thread, and stop promptly (shutting
    down what it started) when ``emit`` raises or on ``KeyboardInterrupt``.
    """

    name: str

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec and ``emit`` each record as it finishes."""
        ...


def describe(backend: Any) -> str:
    """A short name for provenance."""
    return getattr(backend, "name", type(backend).__name__)


def lost_record(spec: RunSpec, status: RunStatus, error_type: str, message: str, duration: float = 0.0) -> RunRecord:
    """The record of a run that returned none: its worker died or it timed out.

    Args:
        spec: the run.
        status: ``"failed"`` or ``"timeout"``.
        error_type: ``WORKER_DIED``, ``RUN_TIMEOUT`` or another name.
        message: what happened, for ``result.errors``.
        duration: seconds the run is known to have taken.
    """
    error = RunError(spec.condition, spec.replicate, error_type, message, "", None)
    return RunRecord(spec.condition, spec.replicate, spec.seed, status, {}, error, duration, host=_HOST)
