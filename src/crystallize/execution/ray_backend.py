"""Run specs on Ray (``pip install "crystallize[ray]"``)."""

from __future__ import annotations

import os
import time
from collections.abc import Hashable, Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import Lost, Outcome, run_batches
from crystallize.execution.errors import BackendError, MissingExtraError
from crystallize.execution.worker import BatchResult, ShippedTask, cached_task, load_task, run_batch, ship

try:
    import ray
    from ray import exceptions as ray_errors
except ImportError as exc:  # pragma: no cover - exercised by a monkeypatched import
    raise MissingExtraError("ray", "Ray", "ray") from exc

__all__ = ["RayBackend", "RayPool", "run_ray_batch"]

#: Ray's errors for a task whose worker process or node went away.
_DEATHS: tuple[type[BaseException], ...] = tuple(
    cls for name in ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "LocalRayletDiedError")
    if isinstance(cls := getattr(ray_errors, name, None), type)
)


def run_ray_batch(token: str, boxed: list[Any], batch: Sequence[RunSpec]) -> BatchResult:
    """Run ``batch``; the experiment is fetched from the object store (``boxed[0]``)
    only by a worker process that has not loaded it yet."""
    task = cached_task(token)
    if task is None:
        task = load_task(token, ray.get(boxed[0]))
    return run_batch(task, batch)


class RayPool:
    """Batches as Ray tasks (a :class:`~crystallize.execution.batching.Pool`).

    The pickled experiment is put in the object store once.
    """

    def __init__(self, task: ShippedTask) -> None:
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.depth = 2 * self.slots
        self.target = 0.1
        self._token = task.token
        self._box = [ray.put(task.blob)]
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_ray_batch)
        self._refs: dict[Any, float] = {}

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Submit ``batch`` as one task."""
        ref = self._remote.remote(self._token, self._box, batch)
        self._refs[ref] = time.monotonic()
        return ref  # type: ignore[no-any-return]

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished within ``timeout`` seconds."""
        pending = list(self._refs)
        ready, rest = ray.wait(pending, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        out: list[tuple[Hashable, Outcome]] = []
        for ref in ready:
            del self._refs[ref]
            out.append((ref, self._outcome(ref)))
        return out

    @staticmethod
    def _outcome(ref: Any) -> Outcome:
        try:
            return ray.get(ref)  # type: ignore[no-any-return]
        except ray_errors.TaskCancelledError:
            return Lost(False, "cancelled")
        except _DEATHS as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return Lost(True, f"the Ray worker running this run died ({type(exc).__name__}: {reason})")
        except ray_errors.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BackendError):
                raise BackendError(str(cause)) from exc
            raise BackendError(f"a Ray task of crystallize failed outside any run: {exc}") from exc

    def started(self, handle: Hashable) -> float | None:
        """When the batch was submitted (with one batch per CPU in flight, when it started)."""
        return self._refs.get(handle)

    def kill(self, handle: Hashable) -> str:
        """Cancel the task, killing its worker process (Ray starts another)."""
        self._refs.pop(handle, None)
        ray.cancel(handle, force=True)
        return "its Ray worker process was killed"

    def close(self) -> None:
        """Cancel (and kill) every batch still in flight."""
        for ref in self._refs:
            ray.cancel(ref, force=True)
        self._refs.clear()
        self._box.clear()


class RayBackend:
    """Runs on Ray: the Ray this process already initialised (used, never shut
    down), else a local Ray with ``workers`` CPUs started for this experiment
    run and shut down after it.

    The experiment is pickled once with cloudpickle and put in the object
    store. A worker that dies fails only the run it was running
    (``WorkerDied``). ``timeout``: the task is cancelled and its worker process
    killed (timeouts count from submission; as many batches as CPUs are in
    flight, so that is when they start, but allow a second for Ray to start a
    replacement worker after a kill). On Ctrl-C the batches in flight are
    cancelled and their workers killed.

    Args:
        workers: CPUs of a local Ray started here (default: the number of CPUs).
    """

    name = "ray"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def execute(self, task: RunFn, specs: Sequence[RunSpec], emit: Emit, *, timeout: float | None = None) -> None:
        """Run every spec on Ray and ``emit`` each record."""
        shipped = ship(task, self.name)
        own = not ray.is_initialized()
        if own:
            ray.init(num_cpus=self.workers, include_dashboard=False)
        try:
            pool = RayPool(shipped)
            try:
                run_batches(pool, specs, emit, timeout=timeout)
            finally:
                pool.close()
        finally:
            if own:
                ray.shutdown()
