"""An ordered list of steps whose last one returns the run's metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from crystallize.core.context import FrozenContext
from crystallize.core.exceptions import ExperimentDefinitionError, InvalidPipelineOutput, PipelineExecutionError
from crystallize.core.fingerprint import hash_value
from crystallize.core.jsonable import to_jsonable
from crystallize.core.pipeline_step import PipelineStep, StepFactory

__all__ = ["NULL_CACHE", "CacheLookup", "Pipeline", "StepCache", "StepRecord"]


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What happened in one step of one run."""

    name: str
    index: int
    step_hash: str
    params: Mapping[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    cache: str | None = None  # "hit", "miss" or None when the step is not cacheable
    cache_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name, "index": self.index, "step_hash": self.step_hash,
            "params": dict(self.params), "duration": self.duration,
            "cache": self.cache, "cache_key": self.cache_key,
        }


class CacheLookup(NamedTuple):
    """The answer of :meth:`StepCache.lookup`."""

    hit: bool
    value: Any
    key: str | None
    token: Any = None  # whatever the cache needs to store the value later


class StepCache(Protocol):
    """Caches the output of cacheable steps (implemented in ``crystallize.store``)."""

    def lookup(self, step: PipelineStep, data: Any, ctx: FrozenContext) -> CacheLookup: ...

    def save(self, lookup: CacheLookup, value: Any, reads: Mapping[str, Any]) -> str | None: ...


class _NullCache:
    """A cache that never hits and keeps nothing."""

    def lookup(self, step: PipelineStep, data: Any, ctx: FrozenContext) -> CacheLookup:
        return CacheLookup(False, None, None)

    def save(self, lookup: CacheLookup, value: Any, reads: Mapping[str, Any]) -> str | None:
        return None


NULL_CACHE: StepCache = _NullCache()


def _as_step(item: Any, index: int) -> PipelineStep:
    if isinstance(item, StepFactory):
        return item()
    if isinstance(item, PipelineStep):
        return item
    if isinstance(item, type) and issubclass(item, PipelineStep):
        raise ExperimentDefinitionError(
            f"pipeline step #{index} is the class {item.__name__}; pass an instance: {item.__name__}()"
        )
    raise ExperimentDefinitionError(
        f"pipeline step #{index} is a {type(item).__name__}, not a PipelineStep; "
        "subclass PipelineStep or decorate a function with @pipeline_step"
    )


def _describe(step: PipelineStep, limit: int = 60) -> str:
    """``Name(key=value, ...)``, values shortened, or the bare name without params."""
    params = ", ".join(f"{k}={_short(repr(v), 24)}" for k, v in step.params.items())
    return f"{step.name}({_short(params, limit)})" if params else step.name


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Pipeline:
    """Ordered steps: ``run(data, ctx)`` passes data through each in turn.

    Args:
        steps: the steps, as instances, or functions decorated with
            ``@pipeline_step`` (called or not). The last step must return a
            ``Mapping`` of metric name to value.
    """

    def __init__(self, steps: Iterable[PipelineStep | StepFactory] = ()) -> None:
        self.steps: tuple[PipelineStep, ...] = tuple(_as_step(s, i) for i, s in enumerate(steps))
        if not self.steps:
            raise ExperimentDefinitionError("a pipeline needs at least one step")
        self._local = threading.local()

    def __len__(self) -> int:
        return len(self.steps)

    def __getstate__(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.steps = state["steps"]
        self._local = threading.local()

    def signature(self) -> str:
        """Which pipeline ran, readable: each step with its params, then a hash of
        every step's name, params and code, e.g. ``AddStep(n=2)|MetricsStep -> 3f2a...``."""
        shown = "|".join(_describe(s) for s in self.steps)
        return f"{shown} -> {hash_value([s.step_hash for s in self.steps])}"

    def execute(
        self, data: Any, ctx: FrozenContext, cache: StepCache = NULL_CACHE
    ) -> tuple[Mapping[str, Any], list[StepRecord]]:
        """Run every step; return the metrics and one record per step.

        Raises:
            PipelineExecutionError: a step raised (names the step).
            InvalidPipelineOutput: the last step returned no mapping.
        """
        records: list[StepRecord] = []
        clock = time.perf_counter
        for index, step in enumerate(self.steps):
            start = clock()
            try:
                if step.is_cacheable:
                    data, status, key = self._cached_call(step, data, ctx, cache)
                    params = step.resolved_params(ctx)
                else:
                    (data, params), status, key = step.call_with_params(data, ctx), None, None
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - wrapped with the step's name (sys.exit too)
                raise PipelineExecutionError(step.name, index, exc) from exc
            elapsed = clock() - start
            records.append(StepRecord(step.name, index, step.step_hash, to_jsonable(params), elapsed, status, key))
        if type(data) is not dict and not isinstance(data, Mapping):
            raise InvalidPipelineOutput(self.steps[-1].name, data)
        self._local.provenance = records
        return data, records

    @staticmethod
    def _cached_call(
        step: PipelineStep, data: Any, ctx: FrozenContext, cache: StepCache
    ) -> tuple[Any, str, str | None]:
        found = cache.lookup(step, data, ctx)
        if found.hit:
            return found.value, "hit", found.key
        # A cache may hand out a view of ctx that also records absent keys and random state.
        view = getattr(found.token, "context", None)
        reads = ctx.track_reads()
        try:
            output = step(data, view if isinstance(view, FrozenContext) else ctx)
        finally:
            ctx.stop_tracking()
        values = ctx._values()  # noqa: SLF001 - the framework's own view, not a read
        key = cache.save(found, output, {k: values[k] for k in sorted(reads)})
        return output, "miss", key

    def run(self, data: Any, ctx: FrozenContext | None = None) -> Mapping[str, Any]:
        """Run the pipeline on ``data`` and return its metrics."""
        metrics, _ = self.execute(data, ctx if ctx is not None else FrozenContext({}))
        return metrics

    def get_provenance(self) -> list[dict[str, Any]]:
        """Per step of the last run in this thread: params, hashes, cache status, duration."""
        return [r.as_dict() for r in getattr(self._local, "provenance", [])]

    def __repr__(self) -> str:
        shown: Sequence[PipelineStep] = self.steps[:10]
        more = f", ... {len(self.steps) - 10} more" if len(self.steps) > 10 else ""
        return f"Pipeline([{', '.join(map(repr, shown))}{more}])"
