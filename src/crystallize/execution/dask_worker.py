"""What runs on each Dask worker: the experiment, handed over once as a
worker plugin, and the task that runs one batch of it."""

from __future__ import annotations

import contextlib
import functools
import random
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from crystallize.core.plan import RunSpec
from crystallize.execution.errors import BackendError
from crystallize.execution.worker import ShippedTask, dump_result, load_task, run_shipped_batch

__all__ = ["STARTED", "ExperimentPlugin", "isolate_global_generators", "run_dask_batch"]

#: the event topic on which a batch says that it started (and where)
STARTED = "crystallize-batch-started"


class ExperimentPlugin(WorkerPlugin):
    """The pickled experiment of one experiment run: Dask hands it to every
    worker once, also to workers that join or restart later."""

    def __init__(self, task: ShippedTask) -> None:
        self.task = task

    def setup(self, worker: Any) -> None:
        """Give each worker thread its own global generators; load the experiment
        (a failure is left for the batches to report: a worker whose plugin fails cannot start)."""
        isolate_global_generators()
        with contextlib.suppress(Exception):
            load_task(*self.task)


def run_dask_batch(name: str, batch: list[RunSpec]) -> bytes:
    """Run ``batch`` of the experiment that plugin ``name`` brought; its pickled
    ``BatchResult``. It first says on :data:`STARTED` that it started, and where."""
    worker = get_worker()
    worker.log_event(STARTED, {"key": worker.get_current_task(), "worker": worker.address})
    if name not in worker.plugins:
        raise BackendError(f"Dask worker {worker.address} never received the experiment (plugin {name})")
    shipped: ShippedTask = worker.plugins[name].task  # type: ignore[attr-defined]
    return dump_result(run_shipped_batch(shipped.token, shipped.blob, batch))


def isolate_global_generators() -> None:
    """Back the functions of ``random`` and ``numpy.random`` (``random.seed``,
    ``random.random``, ``np.random.seed``, ...) with one generator per thread.

    A run seeds and draws in its own thread, so what it draws depends on its
    seed alone: not on runs in the worker's other threads, nor on Dask's own
    event loop, which calls ``random.sample`` (in ``dask.sizeof``) to size
    the messages it sends.
    """
    _per_thread(random, random.Random, {})
    # NumPy's seed, sample and ranf are plain functions that use the shared RandomState
    _per_thread(np.random, np.random.RandomState, {"seed": "seed", "sample": "random_sample", "ranf": "random_sample"})


def _per_thread(module: Any, make: Callable[[], Any], functions: dict[str, str]) -> None:
    if getattr(module, "_crystallize_per_thread", False):
        return
    shared = module.random.__self__  # the generator behind the module's functions
    local = threading.local()

    def generator() -> Any:
        try:
            return local.generator
        except AttributeError:
            local.generator = make()
            return local.generator

    def redirect(name: str, method: str) -> Callable[..., Any]:
        @functools.wraps(getattr(module, name))
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(generator(), method)(*args, **kwargs)

        return call

    methods = {name: name for name in dir(module) if getattr(getattr(module, name), "__self__", None) is shared}
    for name, method in {**methods, **functions}.items():
        if hasattr(module, name):
            setattr(module, name, redirect(name, method))
    module._crystallize_per_thread = True
