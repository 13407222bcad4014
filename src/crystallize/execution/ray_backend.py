"""Run specs on Ray (``pip install "crystallize[ray]"``)."""

from __future__ import annotations

import os
import time
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

from crystallize.core.plan import RunSpec
from crystallize.execution import interrupts
from crystallize.execution.base import Emit, RunFn
from crystallize.execution.batching import Lost, Outcome, run_batches
from crystallize.execution.errors import BackendError, MissingExtraError
from crystallize.execution.ray_watchdog import RayWatchdog, ray_children
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


def run_ray_batch(token: str, boxed: list[Any], batch: Sequence[RunSpec]) -> Iterator[BatchResult | None]:
    """Run ``batch`` (a Ray streaming generator task): first yields ``None`` once the
    experiment is loaded and the batch begins, then the batch's result. The
    experiment is fetched from the object store (``boxed[0]``) only by a worker
    process that has not loaded it yet."""
    task = cached_task(token)
    if task is None:
        task = load_task(token, ray.get(boxed[0]))
    yield None
    yield run_batch(task, batch)


class RayPool:
    """Batches as Ray tasks (a :class:`~crystallize.execution.batching.Pool`).

    The pickled experiment is put in the object store once. Each task first
    reports that its batch has begun, so a timeout counts from then: time
    queued, or spent starting a worker process, does not count.
    """

    def __init__(self, task: ShippedTask) -> None:
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.depth = 2 * self.slots
        self.target = 0.1
        self._token = task.token
        self._box = [ray.put(task.blob)]
        self._remote = ray.remote(num_cpus=1, max_retries=0, num_returns="streaming")(run_ray_batch)
        self._calls: dict[Any, float | None] = {}  # task -> when its batch began (None: not yet)

    def submit(self, batch: list[RunSpec]) -> Hashable:
        """Submit ``batch`` as one task."""
        call = self._remote.remote(self._token, self._box, batch)
        self._calls[call] = None
        return call  # type: ignore[no-any-return]

    def poll(self, timeout: float | None) -> list[tuple[Hashable, Outcome]]:
        """Batches that finished within ``timeout`` seconds (noting those that began)."""
        out: list[tuple[Hashable, Outcome]] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._calls and not out:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _ = ray.wait(list(self._calls), num_returns=1, timeout=left)
            if not ready:
                break
            while ready:  # take everything that is there now, without waiting
                for call in ready:
                    self._advance(call, out)
                ready, _ = ray.wait(list(self._calls), num_returns=len(self._calls), timeout=0) \
                    if self._calls else ([], [])
        return out

    def _advance(self, call: Any, out: list[tuple[Hashable, Outcome]]) -> None:
        """Take the next answer of ``call``: its batch began, or its result."""
        began = self._calls[call] is not None
        try:
            ref = next(call)
        except StopIteration:  # pragma: no cover - every task yields twice
            del self._calls[call]
            out.append((call, Lost(began, "the Ray task ended without a result")))
            return
        outcome = self._outcome(ref, began)
        if outcome is None:
            self._calls[call] = time.monotonic()
        else:
            del self._calls[call]
            out.append((call, outcome))

    @staticmethod
    def _outcome(ref: Any, began: bool) -> Outcome | None:
        try:
            return ray.get(ref)  # type: ignore[no-any-return]
        except ray_errors.TaskCancelledError:
            return Lost(False, "cancelled")
        except _DEATHS as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            # a worker that died before the batch began may have died of something else: its runs are run
            # again, one at a time, and fail only if they kill their worker too
            return Lost(True, f"the Ray worker running this run died ({type(exc).__name__}: {reason})",
                        certain=began)
        except ray_errors.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BackendError):
                raise BackendError(str(cause)) from exc
            raise BackendError(f"a Ray task of crystallize failed outside any run: {exc}") from exc

    def started(self, handle: Hashable) -> float | None:
        """When the batch began on its worker (``None``: still queued or loading)."""
        return self._calls.get(handle)

    def kill(self, handle: Hashable) -> str:
        """Cancel the task, killing its worker process (Ray starts another)."""
        self._calls.pop(handle, None)
        ray.cancel(handle, force=True)
        return "its Ray worker process was killed"

    def close(self) -> None:
        """Cancel (and kill) every batch still in flight."""
        for call in self._calls:
            ray.cancel(call, force=True)
        self._calls.clear()
        self._box.clear()


class RayBackend:
    """Runs on Ray: the Ray this process already initialised (used, never shut
    down), else a local Ray with ``workers`` CPUs started for this experiment
    run and shut down after it, its agents included; on Linux a watchdog
    process (:mod:`~crystallize.execution.ray_watchdog`) stops that Ray even
    if this program is killed.

    The experiment is pickled once with cloudpickle and put in the object
    store. A worker that dies fails only the run it was running
    (``WorkerDied``). ``timeout``: counted from when the batch began on its
    worker (the experiment loaded), like every backend; the task is then
    cancelled and its worker process killed, and Ray starts another. On
    Ctrl-C the batches in flight are cancelled and their workers killed.

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
        watchdog: RayWatchdog | None = None
        try:
            if own:
                with interrupts.deferred():  # a Ctrl-C during start-up stops the run once Ray is up
                    before = ray_children(os.getpid())
                    ray.init(num_cpus=self.workers, include_dashboard=False)
                    interrupts.reclaim()  # ray.init installs its own SIGTERM handler
                    watchdog = RayWatchdog.start(ray_children(os.getpid()) - before)
            pool = RayPool(shipped)
            try:
                run_batches(pool, specs, emit, timeout=timeout)
            finally:
                pool.close()
        finally:
            if own:
                with interrupts.deferred():
                    try:
                        ray.shutdown()
                    finally:
                        if watchdog is not None:
                            watchdog.close()
