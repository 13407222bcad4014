from __future__ import annotations

import crystallize
import crystallize.core


def test_top_level_and_core_export_the_same_model():
    core = set(crystallize.core.__all__)
    top = set(crystallize.__all__) - {"__version__"}
    assert core == top
    for name in core:
        assert getattr(crystallize, name) is getattr(crystallize.core, name)


def test_exported_names_are_pinned():
    assert set(crystallize.core.__all__) == {
        "ContextMutationError", "CrystallizeError", "CrystallizeWarning", "DataSource", "DegenerateDataWarning", "DesignWarning",
        "Experiment", "ExperimentDefinitionError", "ExperimentListener", "FailureImbalanceWarning",
        "FrozenContext", "Hypothesis", "InsufficientDataWarning", "InvalidMetricError", "InvalidPipelineOutput",
        "MissingMetricError", "Pipeline", "PipelineExecutionError", "PipelineStep", "Result", "RunError",
        "RunFailedError", "RunRecord", "RunSpec", "StatisticalTest", "Treatment", "Verdict", "WelchTTest",
        "data_source", "pipeline_step", "MannWhitneyU", "PairedTTest", "PermutationTest", "StudentTTest",
        "WilcoxonSignedRank", "BettingTest", "SequentialTTest",
    }


def test_design_module_homes_exist():
    from crystallize.core.context import ContextMutationError, FrozenContext  # noqa: F401
    from crystallize.core.datasource import DataSource  # noqa: F401
    from crystallize.core.exceptions import MissingMetricError, PipelineExecutionError  # noqa: F401
    from crystallize.core.experiment import Experiment  # noqa: F401
    from crystallize.core.hypothesis import Hypothesis  # noqa: F401
    from crystallize.core.pipeline import InvalidPipelineOutput, Pipeline  # noqa: F401
    from crystallize.core.pipeline_step import PipelineStep  # noqa: F401
    from crystallize.core.result import Result  # noqa: F401
    from crystallize.core.stat_test import StatisticalTest, WelchTTest  # noqa: F401
    from crystallize.core.treatment import Treatment  # noqa: F401


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("crystallize").joinpath("py.typed").is_file()


def test_importing_crystallize_loads_neither_scipy_nor_pandas():
    import subprocess
    import sys

    code = ("import sys, crystallize, crystallize.core, crystallize.stats.warnings; "
            "print(sorted(m for m in ('scipy', 'pandas', 'rich.table') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
