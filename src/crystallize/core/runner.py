"""Execute one planned run and capture its outcome as a :class:`RunRecord`.

A :class:`RunTask` is what crosses to workers: the experiment's data source,
pipeline and treatments, plus the run services (cache, artifacts). Calling it
with a :class:`RunSpec` never raises for a failing run: the failure is
recorded in the returned record, ``sys.exit()`` in a step included (only
``KeyboardInterrupt`` stops the experiment).
"""

from __future__ import annotations

import random
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from crystallize.core.context import RESERVED_KEYS, ArtifactSink, FrozenContext
from crystallize.core.datasource import DataSource
from crystallize.core.exceptions import InvalidPipelineOutput, PipelineExecutionError, suggest
from crystallize.core.jsonable import plain_metrics
from crystallize.core.pipeline import NULL_CACHE, Pipeline, StepCache
from crystallize.core.plan import BASELINE, RunSpec
from crystallize.core.record import RunError, RunRecord, to_jsonable
from crystallize.core.treatment import Treatment

__all__ = ["RunTask", "seed_globals"]

_HOST = socket.gethostname()


def seed_globals(seed: int) -> None:
    """Seed Python's ``random`` and NumPy's global generator with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _message(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):  # sys.exit() in a run fails that run, never the program
        return (f"exit code {exc.code!r}: the run called sys.exit({exc.code!r}); "
                "raise an exception to fail a run")
    return str(exc)


def _unread(params: Mapping[str, Any], watched: set[str] | None) -> tuple[str, ...]:
    """The treatment's keys that nothing read, each with the closest key that was looked for."""
    if watched is None:
        return ()
    asked = [k for k in watched if k not in params]
    return tuple(f"{key!r}{suggest(key, asked)}" for key in params if key not in watched)


@dataclass
class RunTask:
    """Everything a worker needs to execute any run of one experiment."""

    datasource: DataSource
    pipeline: Pipeline
    treatments: Mapping[str, Treatment]
    cache: StepCache = NULL_CACHE
    artifacts: Callable[[RunSpec], ArtifactSink] | None = None
    #: the experiment's name, for backends that show it (Dask's task names)
    name: str = "experiment"

    def context_for(self, spec: RunSpec) -> FrozenContext:
        """The frozen context of ``spec``: reserved keys, then the treatment's change."""
        ctx = FrozenContext(
            {"replicate": spec.replicate, "condition": spec.condition, "seed": spec.seed}, seed=spec.seed
        )
        if spec.condition != BASELINE:
            treatment = self.treatments[spec.condition]
            if treatment.values is None:  # a function may draw from the global generators
                seed_globals(spec.seed)
            treatment.apply(ctx)
            ctx.reset_rng()  # every condition's steps start from the same random state
        if self.artifacts is not None:
            ctx.artifacts = self.artifacts(spec)
        return ctx

    def __call__(self, spec: RunSpec) -> RunRecord:
        started = time.time()
        clock = time.perf_counter()
        step: str | None = "treatment"
        params: Mapping[str, Any] = {}
        try:
            ctx = self.context_for(spec)
            params = {k: to_jsonable(v) for k, v in ctx._values().items() if k not in RESERVED_KEYS}  # noqa: SLF001
            # the first replicate of a treatment notes what is read, to catch keys nothing uses
            watched = ctx.watch_reads() if spec.replicate == 0 and spec.condition != BASELINE else None
            seed_globals(spec.seed)
            step = "datasource"
            data = self.datasource.fetch(ctx)
            step = None
            metrics, steps = self.pipeline.execute(data, ctx, self.cache)
            metrics = plain_metrics(metrics, self.pipeline.steps[-1].name)  # what the store keeps, exactly
        except PipelineExecutionError as exc:
            return self._failed(spec, exc.cause, exc.step, started, clock, params)
        except InvalidPipelineOutput as exc:
            return self._failed(spec, exc, exc.step, started, clock, params)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failing run is recorded, never raised
            return self._failed(spec, exc, step, started, clock, params)
        saved = getattr(ctx.artifacts, "saved", ())
        return RunRecord(
            spec.condition, spec.replicate, spec.seed, "ok", dict(metrics), None,
            time.perf_counter() - clock, started, _HOST, params, tuple(steps), tuple(saved),
            _unread(params, watched),
        )

    @staticmethod
    def _failed(
        spec: RunSpec, exc: BaseException, step: str | None, started: float, clock: float,
        params: Mapping[str, Any],
    ) -> RunRecord:
        error = RunError(spec.condition, spec.replicate, type(exc).__name__, _message(exc), _format(exc), step)
        return RunRecord(
            spec.condition, spec.replicate, spec.seed, "failed", {}, error,
            time.perf_counter() - clock, started, _HOST, params,
        )
