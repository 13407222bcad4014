"""Turn the ``backend=`` and ``workers=`` arguments of ``Experiment.run`` into a backend."""

from __future__ import annotations

import operator
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from crystallize.core.exceptions import ExperimentDefinitionError, suggest
from crystallize.execution.base import Backend
from crystallize.execution.executor import ExecutorBackend
from crystallize.execution.processes import ProcessesBackend
from crystallize.execution.serial import SerialBackend
from crystallize.execution.threads import ThreadsBackend

__all__ = ["BACKENDS", "resolve_backend"]


def _dask(workers: int | None) -> Backend:
    from crystallize.execution.dask_backend import DaskBackend  # noqa: PLC0415 - optional extra

    return DaskBackend(workers=workers)


def _ray(workers: int | None) -> Backend:
    from crystallize.execution.ray_backend import RayBackend  # noqa: PLC0415 - optional extra

    return RayBackend(workers=workers)


#: The backends ``backend=`` accepts by name.
BACKENDS: dict[str, Callable[[int | None], Backend]] = {
    "serial": SerialBackend,
    "threads": ThreadsBackend,
    "processes": lambda workers: ProcessesBackend(workers, keep_alive=False),
    "dask": _dask,
    "ray": _ray,
}


def _workers_iv(workers: Any) -> int | None:
    if workers is None:
        return None
    try:
        count = None if isinstance(workers, bool) else operator.index(workers)  # numpy integers too
    except TypeError:
        count = None
    if count is None or count < 1:
        raise ExperimentDefinitionError(f"workers must be a whole number >= 1 or None, got {workers!r}")
    return count


def _is_dask_client(obj: Any) -> bool:
    return any(c.__module__.startswith("distributed") and c.__name__ == "Client" for c in type(obj).__mro__)


def resolve_backend(backend: Any, workers: int | None = None) -> Backend:
    """A backend from ``backend=`` and ``workers=``.

    Args:
        backend: ``"serial"``, ``"threads"``, ``"processes"``, ``"dask"``,
            ``"ray"``; a ``concurrent.futures.Executor``; a connected
            ``dask.distributed.Client``; the ``ray`` module; or an object
            with an ``execute`` method (a :class:`Backend`).
        workers: parallel workers for a backend given by name (default: the
            number of CPUs).

    Raises:
        ExperimentDefinitionError: an unknown name or object, or a bad ``workers``.
        MissingExtraError: ``"dask"`` or ``"ray"`` without its package.
    """
    count = _workers_iv(workers)
    if isinstance(backend, str):
        try:
            factory = BACKENDS[backend]
        except KeyError:
            raise ExperimentDefinitionError(
                f"unknown backend {backend!r}{suggest(backend, BACKENDS)}; choose one of {sorted(BACKENDS)}, "
                "or pass an Executor, a Dask Client or a backend object"
            ) from None
        return factory(count)
    if hasattr(backend, "execute"):
        return backend  # type: ignore[no-any-return]
    if isinstance(backend, Executor):
        return ExecutorBackend(backend)
    if _is_dask_client(backend):
        from crystallize.execution.dask_backend import DaskBackend  # noqa: PLC0415 - optional extra

        return DaskBackend(client=backend)
    if getattr(backend, "__name__", None) == "ray" and hasattr(backend, "is_initialized"):
        return _ray(count)
    raise ExperimentDefinitionError(
        f"backend={backend!r} is not a backend: use one of {sorted(BACKENDS)}, a concurrent.futures.Executor, "
        "a dask.distributed.Client, or an object with an execute(task, specs, emit, *, timeout) method"
    )
