"""Experiments the execution tests run on every backend.

Kept in a plain module (not a conftest) so that worker processes can import
the classes by name; the treatments are lambdas and closures, which travel
by value.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import time
from typing import Any

import numpy as np

from crystallize import DataSource, Experiment, FrozenContext, Pipeline, PipelineStep, Treatment
from crystallize.core.record import RunRecord

class GlobalNoise(DataSource):
    """Draws from ``random``, NumPy's global generator and ``ctx.rng``."""

    def fetch(self, ctx: FrozenContext) -> list[float]:
        return [random.random(), float(np.random.random()), float(ctx.rng.random())]


class RngNoise(DataSource):
    """Draws only from ``ctx.rng`` (safe on threads)."""

    def fetch(self, ctx: FrozenContext) -> list[float]:
        return ctx.rng.random(3).tolist()


class CountingSource(RngNoise):
    """Appends the pid of every process that unpickles it to ``log``: shows how
    often the experiment definition crosses to a worker."""

    def __init__(self, log: str) -> None:
        self.log = log

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        with open(self.log, "a") as out:
            out.write(f"{os.getpid()}\n")


class Misbehave(PipelineStep):
    """Fails, dies, sleeps, interrupts or exits on the replicates a treatment names."""

    def __call__(self, data: Any, ctx: FrozenContext) -> Any:
        replicate = ctx["replicate"]
        if replicate in ctx.get("fail_at", ()):
            raise ValueError(f"planned failure at replicate {replicate}")
        if replicate in ctx.get("die_at", ()):
            if os.getpid() == ctx["home_pid"]:
                raise RuntimeError("refusing to kill the test process: run this on a process backend")
            how = ctx.get("die_how", "exit")
            if how == "segv":
                ctypes.string_at(0)  # a crash in native code
            elif how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)  # what the out-of-memory killer does
            os._exit(3)
        if replicate in ctx.get("sleep_at", ()):
            time.sleep(ctx.get("sleep_for", 60.0))
        if replicate in ctx.get("interrupt_at", ()):
            raise KeyboardInterrupt
        if replicate in ctx.get("exit_at", ()):
            raise SystemExit(4)  # sys.exit() in a step
        return data


class Score(PipelineStep):
    """The metrics: a sum of the draws plus the treatment's shift, and the worker's pid."""

    def __call__(self, data: Any, ctx: FrozenContext) -> dict[str, Any]:
        return {"score": float(sum(data)) + ctx.get("shift", 0.0), "draws": list(data), "pid": os.getpid()}


class DrawAfterWork(PipelineStep):
    """Works for ``ctx["work"]`` seconds (default 25 ms), then draws from ``random`` and NumPy's global generator."""

    def __call__(self, data: Any, ctx: FrozenContext) -> Any:
        time.sleep(ctx.get("work", 0.025))
        return [*data, random.random(), float(np.random.random())]


def make(*, source: Any = "global", replicates: int = 8, seed: int = 11, **behaviour: Any) -> Experiment:
    """An experiment with a lambda treatment, a closure treatment and, if
    given, a ``broken`` treatment whose context holds ``behaviour``."""
    offset = 0.25

    def closure(ctx: FrozenContext) -> None:
        ctx["shift"] = offset * 2

    treatments = [Treatment("lam", lambda ctx: ctx.add("shift", 1.0)), Treatment("closure", closure)]
    if "die_at" in behaviour:
        behaviour["home_pid"] = os.getpid()  # the test process, which must survive
    if behaviour:
        treatments.append(Treatment("broken", behaviour))
    return Experiment(
        datasource={"global": GlobalNoise(), "rng": RngNoise()}.get(source, source),
        pipeline=Pipeline([Misbehave(), Score()]),
        treatments=treatments,
        replicates=replicates,
        seed=seed,
    )


def samples(records: Any) -> dict[tuple[str, int], Any]:
    """``{(condition, replicate): (status, score, draws)}`` of the records."""
    return {(r.condition, r.replicate): (r.status, r.metrics.get("score"), r.metrics.get("draws"))
            for r in records}


class Stopper:
    """A listener that raises ``KeyboardInterrupt`` after ``after`` records."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.seen: list[RunRecord] = []

    def on_run_complete(self, record: RunRecord) -> None:
        self.seen.append(record)
        if len(self.seen) == self.after:
            raise KeyboardInterrupt


class OnFirstRecord:
    """A listener that calls ``action`` once, when the first record arrives."""

    def __init__(self, action: Any) -> None:
        self.action = action
        self.done = False

    def on_run_complete(self, record: RunRecord) -> None:
        if not self.done:
            self.done = True
            self.action()


def free_port() -> int:
    """A local TCP port nobody listens on (as of now)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
