"""The one protocol every backend implements, and how a ``backend=`` argument
becomes a backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord

__all__ = ["Backend", "Emit", "RunFn"]

#: Executes one run and never raises for a failing run (``RunTask``).
RunFn = Callable[[RunSpec], RunRecord]
#: Receives each finished record, in any order. It may raise to stop the backend.
Emit = Callable[[RunRecord], None]


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
