"""Every error crystallize raises, under one root, each carrying its context.

Warnings for degenerate statistics live in :mod:`crystallize.stats.warnings`
(``stats`` depends on nothing of the project) and are re-exported here so a
user finds every exception and warning class in one place.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from crystallize.stats.warnings import (
    CrystallizeWarning,
    DegenerateDataWarning,
    DesignWarning,
    FailureImbalanceWarning,
    InsufficientDataWarning,
)

__all__ = [
    "ContextMutationError",
    "CrystallizeError",
    "CrystallizeWarning",
    "DegenerateDataWarning",
    "DesignWarning",
    "ExperimentDefinitionError",
    "FailureImbalanceWarning",
    "InsufficientDataWarning",
    "InvalidMetricError",
    "InvalidPipelineOutput",
    "MissingMetricError",
    "PipelineExecutionError",
    "RunFailedError",
    "UnstorableMetricError",
    "suggest",
]


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``."""
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


class CrystallizeError(Exception):
    """Root of every error raised by crystallize."""


class ExperimentDefinitionError(CrystallizeError, ValueError):
    """The experiment, a treatment or a hypothesis is defined inconsistently."""


class ContextMutationError(CrystallizeError):
    """An existing key of a frozen context was about to change.

    Attributes:
        key: the key that was written.
        treatment: the treatment that wrote it, when known.
    """

    def __init__(self, key: str, *, treatment: str | None = None, reason: str | None = None) -> None:
        self.key = key
        self.treatment = treatment
        where = f"treatment {treatment!r} " if treatment else ""
        why = reason or "existing context keys are frozen; add a new key instead"
        super().__init__(f"{where}tried to change context key {key!r}: {why}")


class PipelineExecutionError(CrystallizeError):
    """A pipeline step (or the data source) raised.

    Attributes:
        step: the name of the step that raised (``"datasource"`` for the data source).
        step_index: its position in the pipeline (-1 for the data source).
    """

    def __init__(self, step: str, step_index: int, cause: BaseException) -> None:
        self.step = step
        self.step_index = step_index
        self.cause = cause
        super().__init__(f"step {step!r} (#{step_index}) raised {type(cause).__name__}: {cause}")


class InvalidPipelineOutput(CrystallizeError, TypeError):
    """The last step of a pipeline did not return a mapping of metrics."""

    def __init__(self, step: str, value: object) -> None:
        self.step = step
        super().__init__(
            f"the last step {step!r} must return a Mapping of metrics "
            f"(e.g. {{'accuracy': 0.9}}), got {type(value).__name__}"
        )


class UnstorableMetricError(InvalidPipelineOutput):
    """A metric the last step returned has no plain value the store can keep as it is.

    Attributes:
        step: the last step.
        metric: the metric's name.
    """

    def __init__(self, step: str, metric: str, detail: str) -> None:  # noqa: D107
        CrystallizeError.__init__(self, f"metric {metric!r} returned by the last step {step!r}: {detail}")
        self.step = step
        self.metric = metric


class MissingMetricError(CrystallizeError, KeyError):
    """A hypothesis names a metric that the pipeline did not produce."""

    def __init__(self, metric: str, available: Iterable[str], *, condition: str | None = None) -> None:
        self.metric = metric
        self.available = sorted(available)
        self.condition = condition
        where = f" in condition {condition!r}" if condition else ""
        super().__init__(
            f"metric {metric!r} not found{where}{suggest(metric, self.available)}; "
            f"available metrics: {', '.join(map(repr, self.available)) or 'none'}"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class InvalidMetricError(CrystallizeError, ValueError):
    """A metric holds NaN, an infinity or a value a test cannot use."""

    def __init__(self, metric: str, condition: str, detail: str) -> None:
        self.metric = metric
        self.condition = condition
        super().__init__(f"metric {metric!r} of condition {condition!r}: {detail}")


class RunFailedError(CrystallizeError):
    """A run failed under ``run(fail_fast=True)``.

    Attributes:
        error: the :class:`~crystallize.core.record.RunError` of the failed run.
        result: the partial result of the runs finished so far.
    """

    def __init__(self, error: object, result: object = None) -> None:
        self.error = error
        self.result = result
        tb = getattr(error, "traceback", "")
        super().__init__(f"run {error} failed (fail_fast=True)\n\nOriginal traceback:\n{tb}")
