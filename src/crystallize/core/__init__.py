"""The experiment model: context, data source, steps, pipeline, treatments,
hypotheses, tests, experiment and result."""

from __future__ import annotations

from crystallize.core.context import FrozenContext
from crystallize.core.datasource import DataSource, data_source
from crystallize.core.events import ExperimentListener
from crystallize.core.exceptions import (
    ContextMutationError,
    CrystallizeError,
    CrystallizeWarning,
    DegenerateDataWarning,
    DesignWarning,
    ExperimentDefinitionError,
    FailureImbalanceWarning,
    InsufficientDataWarning,
    InvalidMetricError,
    InvalidPipelineOutput,
    MissingMetricError,
    PipelineExecutionError,
    RunFailedError,
)
from crystallize.core.experiment import Experiment
from crystallize.core.hypothesis import Hypothesis
from crystallize.core.pipeline import Pipeline
from crystallize.core.pipeline_step import PipelineStep, pipeline_step
from crystallize.core.plan import RunSpec
from crystallize.core.record import RunError, RunRecord
from crystallize.core.result import Result
from crystallize.core.stat_test import (
    BettingTest,
    MannWhitneyU,
    PairedTTest,
    PermutationTest,
    SequentialTTest,
    StatisticalTest,
    StudentTTest,
    WelchTTest,
    WilcoxonSignedRank,
)
from crystallize.core.treatment import Treatment
from crystallize.core.verdict import Verdict

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
    "SequentialTTest",
    "Pipeline",
    "PipelineExecutionError",
    "PipelineStep",
    "Result",
    "RunError",
    "RunFailedError",
    "RunRecord",
    "RunSpec",
    "StatisticalTest",
    "StudentTTest",
    "Treatment",
    "Verdict",
    "WelchTTest",
    "WilcoxonSignedRank",
    "data_source",
    "pipeline_step",
]
