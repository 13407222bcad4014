"""Experiments the chaos suite attacks.

A plain module (not a conftest) so that worker processes and child scripts
import the classes by name.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from crystallize import DataSource, Experiment, FrozenContext, Pipeline, PipelineStep, Treatment
from crystallize.core.record import RunRecord


class Resource:
    """Data that releases something when dropped (a file, a connection, a device
    handle): its finaliser takes most of a run's time."""

    def __del__(self) -> None:
        time.sleep(0.01)


class HeldSource(DataSource):
    """Hands each run a :class:`Resource`."""

    def fetch(self, ctx: FrozenContext) -> Resource:
        return Resource()


class Work(PipelineStep):
    """A short run drawing from ``ctx.rng`` (safe on every backend)."""

    def __call__(self, data: Any, ctx: FrozenContext) -> dict[str, float]:
        time.sleep(ctx.get("nap", 0.002))
        return {"score": float(ctx.rng.random())}


def long_experiment(replicates: int = 1000, nap: float = 0.002) -> Experiment:
    """Thousands of short runs whose data is released by a finaliser."""
    return Experiment(HeldSource(), Pipeline([Work()]), [Treatment("other", {"nap": nap})], replicates=replicates,
                      seed=3, name="long")


class Arrivals:
    """A listener that counts records and says when ``after`` have arrived; like
    a tracker's callback, it releases a :class:`Resource` for each record."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.count = 0
        self.reached = threading.Event()

    def on_run_complete(self, record: RunRecord) -> None:
        Resource()  # dropped at once: its finaliser runs here, in the main thread
        self.count += 1
        if self.count >= self.after:
            self.reached.set()


class Exits(PipelineStep):
    """Calls ``sys.exit(3)`` on the replicates listed in ``exit_at``."""

    def __call__(self, data: Any, ctx: FrozenContext) -> dict[str, float]:
        if ctx["replicate"] in ctx.get("exit_at", ()):
            sys.exit(3)
        return {"score": float(ctx.rng.random()), "pid": os.getpid()}
