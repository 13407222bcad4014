"""Lifecycle callbacks: the one place where the store, the progress bar and
user integrations listen to an experiment run."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from crystallize.core.plan import RunSpec
    from crystallize.core.record import RunRecord

__all__ = ["ExperimentListener", "Listeners"]


@runtime_checkable
class ExperimentListener(Protocol):
    """Receives the events of an experiment run. Implement any subset.

    ``on_experiment_start`` gets the experiment, every planned run and the runs
    that will actually execute (the others were loaded from the store);
    ``on_run_complete`` gets each finished record as it arrives, in any order;
    ``on_experiment_end`` gets the :class:`~crystallize.core.result.Result`;
    ``on_experiment_abort`` gets the exception that stopped the run instead
    (the partial result is on ``exc.result``).
    """

    def on_experiment_start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        """Called once before any run executes."""

    def on_run_complete(self, record: RunRecord) -> None:
        """Called for every finished run, success or failure."""

    def on_look(self, look: Mapping[str, Any]) -> None:
        """Sequential experiments: called after each look at the evidence with its
        replicate count and, per verdict, ln E, anytime p-values and decision."""

    def on_experiment_end(self, result: Any) -> None:
        """Called once with the final result."""

    def on_experiment_abort(self, exc: BaseException) -> None:
        """Called once, instead of ``on_experiment_end``, when the run stops with an
        exception (Ctrl-C twice, a guard, too many timeouts, a failing listener)."""


class Listeners:
    """Fans every event out to several listeners (missing methods are skipped)."""

    def __init__(self, listeners: Sequence[Any] = ()) -> None:
        self._start = [f for obj in listeners if (f := getattr(obj, "on_experiment_start", None))]
        self._run = [f for obj in listeners if (f := getattr(obj, "on_run_complete", None))]
        self._look = [f for obj in listeners if (f := getattr(obj, "on_look", None))]
        self._end = [f for obj in listeners if (f := getattr(obj, "on_experiment_end", None))]
        self._abort = [f for obj in listeners if (f := getattr(obj, "on_experiment_abort", None))]

    def on_experiment_start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        for fn in self._start:
            fn(experiment, planned, todo)

    def on_run_complete(self, record: RunRecord) -> None:
        for fn in self._run:
            fn(record)

    def on_look(self, look: Mapping[str, Any]) -> None:
        for fn in self._look:
            fn(look)

    def on_experiment_end(self, result: Any) -> None:
        for fn in self._end:
            fn(result)

    def on_experiment_abort(self, exc: BaseException) -> None:
        """Tell every listener; one failing does not keep the others from hearing (the
        original exception is the one that propagates)."""
        for fn in self._abort:
            try:
                fn(exc)
            except Exception:  # noqa: BLE001 - the run is already failing with exc
                logging.getLogger("crystallize").exception("a listener failed on experiment abort")
