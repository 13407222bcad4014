"""Runs that hang, for the process-timeout tests (a plain module: workers import it by name)."""

from __future__ import annotations

import os
import time
from typing import Any

from crystallize import DataSource, Experiment, FrozenContext, Pipeline, PipelineStep, Treatment


class Nothing(DataSource):
    def fetch(self, ctx: FrozenContext) -> None:
        return None


class MaybeHang(PipelineStep):
    """Hangs (sleeps a minute) on every run of a treatment with ``hang``, and on every
    run from replicate ``hang_from`` on; a ``stubborn`` hang swallows every exception,
    the timeout's interrupt included. Reports the worker's pid."""

    def __init__(self, hang_from: int | None = None) -> None:
        self.hang_from = hang_from

    def __call__(self, data: Any, ctx: FrozenContext) -> dict[str, float]:
        if ctx.get("hang", False) or (self.hang_from is not None and ctx["replicate"] >= self.hang_from):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    time.sleep(deadline - time.monotonic())
                except BaseException:  # the point: a run that will not be stopped
                    if not ctx.get("stubborn", False):
                        raise
        return {"x": float(ctx["replicate"]), "pid": float(os.getpid())}


def hanging(replicates: int, *, hang_from: int | None = None, slow_hangs: bool = False,
            stubborn: bool = False) -> Experiment:
    """Baseline and treatment ``slow`` (which hangs on every run with ``slow_hangs``);
    every run hangs from replicate ``hang_from`` on."""
    return Experiment(Nothing(), Pipeline([MaybeHang(hang_from)]),
                      [Treatment("slow", {"hang": slow_hangs, "stubborn": stubborn})],
                      replicates=replicates, seed=3)
