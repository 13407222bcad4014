"""YAML experiment files: building experiments and reporting every problem with its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crystallize import Experiment
from crystallize.cli.config import ConfigError, load_experiment
from crystallize.core.stat_test import PairedTTest, PermutationTest

from .conftest import EXAMPLE, VALID

Write = Callable[..., Path]


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    return info.value


def test_a_valid_file_builds_the_experiment_it_describes(project: Write) -> None:
    experiment = load_experiment(project(VALID))
    assert experiment.name == "shift-study" and experiment.seed == 3 and experiment.replicates == 6
    assert experiment.conditions == ("baseline", "shifted", "scaled")
    assert experiment.correction == "bonferroni"
    assert [s.name for s in experiment.pipeline.steps] == ["Offset", "summarise"]
    assert dict(experiment.datasource.params) == {"n": 25, "shift": 0.0}
    mean, spread = experiment.hypotheses
    assert (mean.name, mean.direction, type(mean.statistical_test)) == ("mean", "increase", PairedTTest)
    assert spread.name == "spread_any" and spread.alpha == 0.1 and spread.direction is None
    test = spread.statistical_test
    assert isinstance(test, PermutationTest) and test.n_resamples == 500 and test.paired


@pytest.mark.filterwarnings("ignore::crystallize.core.exceptions.DegenerateDataWarning")  # shift keeps spread
def test_the_loaded_experiment_runs_and_treatments_change_the_context(project: Write) -> None:
    result = load_experiment(project(VALID)).run(store=False, progress=False)
    means = {c: sum(result.metrics[c]["mean"]) / 6 for c in ("baseline", "shifted", "scaled")}
    assert means["shifted"] == pytest.approx(means["baseline"] + 0.8, abs=1e-9)  # common random numbers
    assert means["scaled"] == pytest.approx(means["baseline"] * 2, abs=1e-9)
    # a constant shift of 0.8 in every replicate: zero variance, so the exact sign-flip p (2 / 2**6), never 0
    assert result.get_hypothesis("mean", "shifted").p_value == 2 / 2**6
    assert len(result.hypotheses) == 4 and result.hypotheses[0].correction == "bonferroni"
    assert {v.family for v in result.hypotheses} == {"default", "spread"}


def test_experiment_from_yaml_is_the_same_door(project: Write) -> None:
    path = project(VALID)
    assert Experiment.from_yaml(path).fingerprint() == load_experiment(path).fingerprint()


def test_components_as_classes_instances_and_the_one_key_shorthand(project: Write) -> None:
    path = project("""\
        seed: 1
        datasource:
          mysteps:Gaussian: {n: 4}
        steps:
          - import: mysteps:Offset
            params: {by: 2.5}
          - mysteps:summarise: {scale: 3.0}
        """)
    experiment = load_experiment(path)
    assert experiment.name == "experiment"  # the file's stem
    assert dict(experiment.datasource.params) == {"n": 4, "shift": 0.0}
    assert experiment.pipeline.steps[0].params == {"by": 2.5}
    assert experiment.pipeline.steps[1].params == {"scale": 3.0}


def test_custom_test_by_import_path(project: Write) -> None:
    experiment = load_experiment(project(VALID.replace("test: paired_t", "test: {name: 'mysteps:AlwaysSignificant', p: 0.01}")))
    test = experiment.hypotheses[0].statistical_test
    assert type(test).__name__ == "AlwaysSignificant" and test.p == 0.01


def test_unknown_key_suggests_the_nearest_and_names_its_line(project: Write) -> None:
    error = _error(project(VALID.replace("replicates: 6", "replicate: 6")))
    assert (error.line, error.key) == (3, "replicate")
    assert "did you mean 'replicates'" in str(error) and ", line 3:" in str(error)
    assert error.path.endswith("experiment.yaml")


def test_every_problem_is_reported_with_its_line(project: Write) -> None:
    text = VALID.replace("direction: increase", "direction: up").replace("test: paired_t", "test: paired")
    text = text.replace("alpha: 0.1", "alpha: 2")
    error = _error(project(text))
    lines = {(p.line, p.key) for p in error.problems}
    assert (16, "hypotheses[0].direction") in lines
    assert (17, "hypotheses[0].test") in lines
    assert (21, "hypotheses[1].alpha") in lines
    message = str(error)
    assert "'up' is not valid" in message and "increase" in message
    assert "must lie strictly between 0 and 1" in message
    assert [p.line for p in error.problems] == sorted(p.line for p in error.problems)


def test_unknown_test_name_suggests_one(project: Write) -> None:
    error = _error(project(VALID.replace("test: paired_t", "test: paired_tt")))
    assert error.key == "hypotheses[0].test" and error.line == 17
    assert "did you mean 'paired_t'" in str(error)


def test_missing_module_and_missing_attribute_are_named(project: Write) -> None:
    error = _error(project(VALID.replace("mysteps:noisy", "nosuchmodule:noisy")))
    assert error.line == 5 and error.key == "datasource.import"
    assert "module 'nosuchmodule' not found" in str(error)
    error = _error(project(VALID.replace("import: mysteps:summarise", "import: mysteps:summarize")))
    assert error.line == 9 and error.key == "steps[1].import"
    assert "module 'mysteps' has no attribute 'summarize' (did you mean 'summarise'?)" in str(error)
    error = _error(project(VALID.replace("import: mysteps:summarise", "import: mysteps.summarise")))
    assert "must look like 'package.module:name'" in str(error)


def test_wrong_params_point_at_the_params(project: Write) -> None:
    error = _error(project(VALID.replace("params: {n: 25}", "params: {size: 25}")))
    assert error.line == 6 and error.key == "datasource.params"
    assert "no keyword parameter 'size'" in str(error)


def test_objects_of_the_wrong_kind_are_explained(project: Write) -> None:
    error = _error(project(VALID.replace("- mysteps:offset_by_one", "- mysteps:plain")))
    assert error.line == 8 and "decorate a function with @pipeline_step" in str(error)
    error = _error(project(VALID.replace("- mysteps:offset_by_one", "- mysteps:not_a_step")))
    assert "is a int, not a pipeline step" in str(error)
    error = _error(project(VALID.replace("- mysteps:offset_by_one", "- {import: 'mysteps:offset_by_one', params: {by: 1}}")))
    assert "already an instance; it takes no params" in str(error)


def test_types_and_ranges_of_scalars(project: Write) -> None:
    error = _error(project(VALID.replace("replicates: 6", "replicates: six").replace("seed: 3", "seed: -1")))
    assert {(p.line, p.key) for p in error.problems} == {(2, "seed"), (3, "replicates")}
    assert "expected a whole number >= 1, got 'six'" in str(error) and "must be >= 0, got -1" in str(error)
    error = _error(project(VALID.replace("correction: bonferroni", "correction: bonferoni")))
    assert error.line == 23 and "did you mean 'bonferroni'" in str(error)
    assert load_experiment(project(VALID.replace("correction: bonferroni", "correction: none"))).correction is None


def test_reserved_names_and_keys_in_treatments(project: Write) -> None:
    error = _error(project(VALID.replace("shifted: {shift: 0.8}", "shifted: {seed: 4}")))
    assert error.line == 11 and error.key == "treatments.shifted.seed" and "reserved" in str(error)
    error = _error(project(VALID.replace("shifted: {shift: 0.8}", "baseline: {shift: 0.8}")))
    assert error.line == 11 and "treatment name 'baseline' is reserved" in str(error)


def test_required_keys_duplicates_and_syntax(project: Write) -> None:
    error = _error(project("name: x\nseed: 1\n"))
    assert {p.key for p in error.problems} == {"datasource", "steps"}
    error = _error(project(VALID + "seed: 4\n"))
    assert len(error.problems) == 1
    assert error.line == 24 and "key 'seed' appears twice (first on line 2)" in str(error)
    error = _error(project("name: x\nsteps: [a, b\nseed: 1\n"))
    assert error.line is not None and error.line >= 2 and "not valid YAML" in str(error)
    error = _error(project("- just\n- a list\n"))
    assert "must be a mapping" in str(error)
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_experiment(Path("/nonexistent/experiment.yaml"))


def test_modules_resolve_next_to_each_file_first(tmp_path: Path) -> None:
    made = []
    for value in (1.0, 2.0):
        folder = tmp_path / f"study{int(value)}"
        folder.mkdir()
        (folder / "steps.py").write_text(
            "from crystallize import data_source, pipeline_step\n"
            "@data_source\ndef source(ctx):\n    return 0.0\n"
            f"@pipeline_step\ndef metric(data):\n    return {{'value': {value}}}\n")
        (folder / "e.yaml").write_text("datasource: steps:source\nsteps: [steps:metric]\nseed: 1\n")
        made.append(load_experiment(folder / "e.yaml").run(store=False, progress=False))
    assert [r.metrics["baseline"]["value"] for r in made] == [[1.0], [2.0]]


def test_the_example_file_is_valid() -> None:
    experiment = load_experiment(EXAMPLE / "experiment.yaml")
    assert experiment.conditions == ("baseline", "k15", "noisy_labels") and experiment.replicates == 10
    assert all(isinstance(h.statistical_test, PairedTTest) for h in experiment.hypotheses)
    guardrail = experiment.hypotheses[1]
    assert guardrail.margin == 0.02 and guardrail.higher_is_better is True and guardrail.family == "guardrails"


@pytest.mark.filterwarnings("ignore::crystallize.core.exceptions.DegenerateDataWarning")
def test_steps_from_the_files_folder_reach_process_workers(project: Write) -> None:
    """The folder is not on sys.path in the workers: its module travels with the pickled steps."""
    import sys

    path = project(VALID)
    experiment = load_experiment(path)
    assert str(path.parent) not in sys.path
    serial = experiment.run(store=False, progress=False)
    parallel = experiment.run(store=False, progress=False, backend="processes", workers=2)
    assert parallel.errors == {}
    assert parallel.metrics["shifted"] == serial.metrics["shifted"]
