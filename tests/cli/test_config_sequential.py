"""Sequential experiment files: the design, futility keys and anytime-valid test options,
and every mistake in them reported with its line and key."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from crystallize import Experiment, ExperimentDefinitionError, Hypothesis, PairedTTest
from crystallize.core.sequential import Sequential
from crystallize.core.stat_test import BettingTest, SequentialTTest

from .conftest import config_error

Write = Callable[..., Path]

SEQUENTIAL = """\
name: sequential-study
seed: 3
replicates:
  sequential: {max: 200, batch: 10, min: 6}
datasource:
  import: mysteps:noisy
  params: {n: 25}
steps:
  - mysteps:summarise
treatments:
  shifted: {shift: 0.8}
hypotheses:
  - metric: mean
    direction: increase
    test: {name: sequential_t, prior_scale: 0.8, alternative: greater}
    min_effect: 0.05
    alpha_futility: 0.2
  - name: spread_win
    metric: spread
    test: {name: betting, mode: win_rate}
"""



def test_a_sequential_file_builds_its_design_hypotheses_and_tests(project: Write) -> None:
    experiment = Experiment.from_yaml(project(SEQUENTIAL))
    assert experiment.sequential == Sequential(max=200, batch=10, min=6) and experiment.replicates == 200
    mean, spread = experiment.hypotheses
    assert (mean.min_effect, mean.alpha_futility) == (0.05, 0.2)
    test = mean.statistical_test
    assert isinstance(test, SequentialTTest) and (test.prior_scale, test.alternative) == (0.8, "greater")
    assert isinstance(spread.statistical_test, BettingTest) and spread.statistical_test.mode == "win_rate"
    assert (spread.min_effect, spread.alpha_futility) == (None, 0.10)  # the defaults


def test_batch_and_min_are_optional_and_expected_replicates_sets_the_prior(project: Write) -> None:
    text = SEQUENTIAL.replace("{max: 200, batch: 10, min: 6}", "{max: 40}")
    text = text.replace("prior_scale: 0.8, alternative: greater", "expected_replicates: 60")
    experiment = Experiment.from_yaml(project(text))
    assert experiment.sequential == Sequential(max=40, batch=5, min=5)
    k = 2 * math.log(1 / 0.05)  # the formula: sqrt((2 ln(1/alpha) + ln(1 + 2 ln(1/alpha))) / n_expected)
    assert experiment.hypotheses[0].statistical_test.prior_scale == pytest.approx(math.sqrt((k + math.log(1 + k)) / 60))


def test_a_sequential_file_runs_in_rounds_and_stops_when_decided(project: Write) -> None:
    text = SEQUENTIAL.replace("{max: 200, batch: 10, min: 6}", "{max: 30, batch: 5, min: 5}")
    text = text.replace("{name: betting, mode: win_rate}", "sequential_t\n    min_effect: 0.1")
    result = Experiment.from_yaml(project(text)).run(store=False, progress=False)
    # the shift adds 0.8 to the mean in every replicate and leaves the spread as it is (common random
    # numbers): the first is accepted, the second ruled out, long before the budget
    assert result.stopped_at is not None and result.stopped_at < 30 and result.stop_reason in ("decided", "futile")
    assert result.get_hypothesis("mean", "shifted").sequential == "accepted"
    assert result.get_hypothesis("spread_win", "shifted").sequential == "futile"


@pytest.mark.parametrize(("old", "new", "line", "key", "message"), [
    ("{max: 200, batch: 10, min: 6}", "{max: 200, bacth: 10}", 4, "replicates.sequential.bacth",
     "unknown key 'bacth' in a sequential design (did you mean 'batch'?)"),
    ("{max: 200, batch: 10, min: 6}", "{batch: 10}", 4, "replicates.sequential", "needs max:"),
    ("{max: 200, batch: 10, min: 6}", "{max: 1}", 4, "replicates.sequential.max", "must be >= 2, got 1"),
    ("{max: 200, batch: 10, min: 6}", "{max: 200, batch: 0}", 4, "replicates.sequential.batch",
     "must be >= 1, got 0"),
    ("{max: 200, batch: 10, min: 6}", "{max: 20, min: 30}", 4, "replicates.sequential.min",
     "min must not exceed max"),
    ("{max: 200, batch: 10, min: 6}", "{max: many}", 4, "replicates.sequential.max", "expected a whole number"),
    ("  sequential: {max: 200, batch: 10, min: 6}", "  sequentail: {max: 200}", 4, "replicates.sequentail",
     "(did you mean 'sequential'?)"),
    ("  sequential: {max: 200, batch: 10, min: 6}", "  sequential: 200", 4, "replicates.sequential",
     "expected a mapping with max:"),
    ("    min_effect: 0.05", "    min_effect: -0.05", 16, "hypotheses[0].min_effect",
     "min_effect must be a positive number in the metric's units, got -0.05"),
    ("    alpha_futility: 0.2", "    alpha_futility: 1.5", 17, "hypotheses[0].alpha_futility",
     "alpha_futility must lie strictly between 0 and 1, got 1.5"),
    ("    alpha_futility: 0.2", "    alpha_futilty: 0.2", 17, "hypotheses[0].alpha_futilty",
     "(did you mean 'alpha_futility'?)"),
])
def test_mistakes_in_the_design_and_futility_keys_name_their_line(
        project: Write, old: str, new: str, line: int, key: str, message: str) -> None:
    assert old in SEQUENTIAL
    error = config_error(project(SEQUENTIAL.replace(old, new)))
    assert (error.line, error.key) == (line, key), str(error)
    assert message in str(error) and f"line {line}: {key}:" in str(error)


def test_test_options_are_checked_one_by_one_at_their_own_line(project: Write) -> None:
    text = SEQUENTIAL.replace("prior_scale: 0.8, alternative: greater", "prior_scal: 0.8, alternative: up")
    text = text.replace("test: {name: betting, mode: win_rate}", "test:\n      name: betting\n      mode: wins")
    error = config_error(project(text))
    assert {(p.line, p.key) for p in error.problems} == {
        (15, "hypotheses[0].test.prior_scal"), (15, "hypotheses[0].test.alternative"),
        (22, "hypotheses[1].test.mode")}
    message = str(error)
    assert "test 'sequential_t' has no option 'prior_scal' (did you mean 'prior_scale'?)" in message
    assert "its options: prior_scale, alternative, expected_replicates" in message
    assert "test 'sequential_t': alternative='up' is not one of ('two-sided', 'greater', 'less')" in message
    assert "test 'betting': mode='wins' is not one of ('bounded', 'win_rate')" in message


@pytest.mark.parametrize(("options", "message"), [
    ("prior_scale: -1", "prior_scale=-1 must be a positive number"),
    ("expected_replicates: 1", "expected_replicates=1 must be an integer >= 2"),
])
def test_bad_sequential_t_values_name_their_key(project: Write, options: str, message: str) -> None:
    error = config_error(project(SEQUENTIAL.replace("prior_scale: 0.8, alternative: greater", options)))
    assert (error.line, error.key) == (15, f"hypotheses[0].test.{options.split(':')[0]}")
    assert f"test 'sequential_t': {message}" in str(error)


def test_prior_scale_and_expected_replicates_together_are_refused(project: Write) -> None:
    error = config_error(project(SEQUENTIAL.replace("alternative: greater", "expected_replicates: 40")))
    assert (error.line, error.key) == (15, "hypotheses[0].test.expected_replicates")
    assert "give prior_scale or expected_replicates, not both" in str(error)


def test_a_fixed_n_test_in_a_sequential_file_gets_the_experiments_refusal_at_its_line(project: Write) -> None:
    text = SEQUENTIAL.replace("{name: sequential_t, prior_scale: 0.8, alternative: greater}", "paired_t")
    text = text.replace("test: {name: betting, mode: win_rate}", "test: welch")
    error = config_error(project(text))
    assert [(p.line, p.key) for p in error.problems] == [(13, "hypotheses[0]"), (18, "hypotheses[1]")]
    valid = Experiment.from_yaml(project(SEQUENTIAL, name="valid.yaml"))
    with pytest.raises(ExperimentDefinitionError) as engine:  # the experiment's own words, not a copy of its rule
        Experiment(datasource=valid.datasource, pipeline=valid.pipeline, replicates=valid.sequential,
                   hypotheses=[Hypothesis("mean", PairedTTest(), direction="increase", min_effect=0.05)])
    assert error.problems[0].message.startswith(str(engine.value))
    assert "uses paired_t in a sequential experiment" in error.problems[0].message
    assert "uses welch_t in a sequential experiment" in error.problems[1].message
    assert "(in an experiment file: test: sequential_t, or betting)" in error.problems[0].message


def test_a_test_class_by_import_path_in_a_sequential_file_is_refused_unless_anytime_valid(project: Write) -> None:
    text = SEQUENTIAL.replace("{name: sequential_t, prior_scale: 0.8, alternative: greater}",
                              "{name: 'mysteps:AlwaysSignificant', p: 0.01}")
    error = config_error(project(text))
    assert (error.line, error.key) == (13, "hypotheses[0]")
    assert "uses always in a sequential experiment" in str(error)


def test_a_relative_margin_in_a_sequential_file_is_refused_at_its_hypothesis(project: Write) -> None:
    text = SEQUENTIAL.replace("    min_effect: 0.05\n", "    margin: 0.1\n    margin_relative: true\n")
    text = text.replace("direction: increase", "direction: no_worse\n    higher_is_better: true")
    error = config_error(project(text))
    assert (error.line, error.key) == (13, "hypotheses[0]")
    assert "a relative margin is not supported in a sequential experiment" in str(error)


def test_an_experiment_level_refusal_stays_at_the_top(project: Write) -> None:
    """A refusal no single hypothesis causes (two hypotheses of one name) is not pinned on a hypothesis."""
    text = SEQUENTIAL.replace("name: spread_win", "name: mean")
    error = config_error(project(text))
    assert (error.line, error.key) == (1, "") and "two hypotheses are named 'mean'" in str(error)


def test_an_invalid_design_builds_nothing(tmp_path: Path) -> None:
    """The file is checked whole before anything named in it is called, sequential keys included."""
    (tmp_path / "marking.py").write_text(
        "from pathlib import Path\nfrom crystallize import DataSource, pipeline_step\n"
        "class Marking(DataSource):\n    def __init__(self, mark):\n        Path(mark).write_text('built')\n"
        "    def fetch(self, ctx):\n        return 1\n"
        "@pipeline_step\ndef metrics(data):\n    return {'x': 1.0}\n")
    mark = tmp_path / "built"
    path = tmp_path / "e.yaml"
    path.write_text(f"datasource: {{import: 'marking:Marking', params: {{mark: '{mark}'}}}}\n"
                    "steps: [marking:metrics]\nreplicates: {sequential: {max: 10, min: 20}}\n")
    error = config_error(path)
    assert (error.line, error.key) == (3, "replicates.sequential.min")
    assert not mark.exists()
