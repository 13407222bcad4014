"""crystallize: controlled, reproducible, hypothesis-driven experiments.

Define a data source, a pipeline of steps, treatments and hypotheses; run the
baseline and every treatment over seeded replicates; read each hypothesis's
verdict with an effect size, a confidence interval and a p-value.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from crystallize.core import (
    BettingTest,
    ContextMutationError,
    CrystallizeError,
    CrystallizeWarning,
    DataSource,
    DegenerateDataWarning,
    DesignWarning,
    Experiment,
    ExperimentDefinitionError,
    ExperimentListener,
    FailureImbalanceWarning,
    FrozenContext,
    Hypothesis,
    InsufficientDataWarning,
    InvalidMetricError,
    InvalidPipelineOutput,
    MannWhitneyU,
    MissingMetricError,
    PairedTTest,
    PermutationTest,
    Pipeline,
    PipelineExecutionError,
    PipelineStep,
    Result,
    RunError,
    RunFailedError,
    RunRecord,
    RunSpec,
    Sequential,
    SequentialTTest,
    StatisticalTest,
    StudentTTest,
    Treatment,
    Verdict,
    WelchTTest,
    WilcoxonSignedRank,
    data_source,
    pipeline_step,
)
from crystallize.core.result import use_store_opener

if TYPE_CHECKING:
    from crystallize.store import Store

__version__ = "0.1.0"

logging.getLogger("crystallize").addHandler(logging.NullHandler())


def _open_store(path: str | os.PathLike[str]) -> Store:
    """Open a run store for ``Result.load``: the model does not know the store; this package wires it in."""
    from crystallize.store import open as open_store  # noqa: PLC0415 - SQLite loads only when a store is read

    return open_store(path)


use_store_opener(_open_store)

__all__ = [
    "BettingTest",
    "ContextMutationError",
    "CrystallizeError",
    "CrystallizeWarning",
    "DataSource",
    "DegenerateDataWarning",
    "DesignWarning",
    "Experiment",
    "ExperimentDefinitionError",
    "ExperimentListener",
    "FailureImbalanceWarning",
    "FrozenContext",
    "Hypothesis",
    "InsufficientDataWarning",
    "InvalidMetricError",
    "InvalidPipelineOutput",
    "MannWhitneyU",
    "MissingMetricError",
    "PairedTTest",
    "PermutationTest",
    "Pipeline",
    "PipelineExecutionError",
    "PipelineStep",
    "Result",
    "RunError",
    "RunFailedError",
    "RunRecord",
    "RunSpec",
    "Sequential",
    "SequentialTTest",
    "StatisticalTest",
    "StudentTTest",
    "Treatment",
    "Verdict",
    "WelchTTest",
    "WilcoxonSignedRank",
    "data_source",
    "pipeline_step",
    "__version__",
]
