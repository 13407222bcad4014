"""Run every spec in this process, one after another."""

from __future__ import annotations

from collections.abc import Sequence

from crystallize.core.plan import RunSpec
from crystallize.execution.base import Emit, RunFn

__all__ = ["SerialBackend"]


class SerialBackend:
    """The default backend: in-process, in plan order. ``timeout`` is not enforced."""

    name = "serial"

    def __init__(self, workers: int | None = None) -> None:
        del workers

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        for spec in specs:
            emit(task(spec))
