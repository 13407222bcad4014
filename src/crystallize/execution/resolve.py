"""Turn the ``backend=`` argument of ``Experiment.run`` into a backend."""

from __future__ import annotations

from typing import Any

from crystallize.core.exceptions import ExperimentDefinitionError, suggest
from crystallize.execution.base import Backend
from crystallize.execution.serial import SerialBackend

__all__ = ["BACKENDS", "resolve_backend"]

BACKENDS: dict[str, Any] = {"serial": SerialBackend}


def resolve_backend(backend: Any, workers: int | None = None) -> Backend:
    """A backend from a name, an executor, a client, or a backend instance."""
    if isinstance(backend, str):
        try:
            factory = BACKENDS[backend]
        except KeyError:
            raise ExperimentDefinitionError(
                f"unknown backend {backend!r}{suggest(backend, BACKENDS)}; choose one of {sorted(BACKENDS)}"
            ) from None
        return factory(workers)  # type: ignore[no-any-return]
    if hasattr(backend, "execute"):
        return backend  # type: ignore[no-any-return]
    raise ExperimentDefinitionError(f"backend={backend!r} is not a backend name or a Backend")
