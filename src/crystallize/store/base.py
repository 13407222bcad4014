"""The protocol of a run store, and the null store used with ``store=False``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from crystallize.core.context import ArtifactSink
from crystallize.core.pipeline import NULL_CACHE, StepCache
from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord

__all__ = ["NullStore", "RunStore"]


class RunStore(Protocol):
    """Keeps every run of every experiment run, and serves resume and the cache."""

    def resume_seed(self, experiment: Any) -> int | None:
        """With ``resume=True`` and a seed drawn at random: the seed of the earlier
        run to continue (same name, same definition apart from the seed), or ``None``."""
        ...

    def begin(
        self, info: Mapping[str, Any], planned: Sequence[RunSpec], *, resume: bool
    ) -> tuple[str | None, list[RunRecord]]:
        """Open an experiment run; return its id and the records already done (resume)."""
        ...

    def on_run_complete(self, record: RunRecord) -> None:
        """Record one finished run (batched; durable within about a second)."""
        ...

    def finish(self, result: Any, *, status: str) -> None:
        """Record the verdicts and the final status; flush everything."""
        ...

    @property
    def cache(self) -> StepCache:
        """The step cache to use in runs."""
        ...

    def artifacts(self, run_id: str | None) -> Callable[[RunSpec], ArtifactSink] | None:
        """A picklable factory of each run's artifact sink, or ``None``."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


class NullStore:
    """A store that keeps nothing (``store=False``)."""

    def resume_seed(self, experiment: Any) -> int | None:
        return None

    def begin(
        self, info: Mapping[str, Any], planned: Sequence[RunSpec], *, resume: bool
    ) -> tuple[str | None, list[RunRecord]]:
        return None, []

    def on_run_complete(self, record: RunRecord) -> None:
        return None

    def finish(self, result: Any, *, status: str) -> None:
        return None

    @property
    def cache(self) -> StepCache:
        return NULL_CACHE

    def artifacts(self, run_id: str | None) -> Callable[[RunSpec], ArtifactSink] | None:
        return None

    def close(self) -> None:
        return None
