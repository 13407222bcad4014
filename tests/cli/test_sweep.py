"""Sweeps from an experiment file (``treatments: {grid: ...}`` / ``zip:``) and from the command
line (``crystallize run FILE -t key=v1,v2``), end to end with the installed command."""

from __future__ import annotations

import pytest

from crystallize import Experiment

from .conftest import COMMAND, config_error, crystallize

GRID = """\
name: grid-study
seed: 3
replicates: 6
datasource:
  import: mysteps:noisy
  params: {n: 25}
steps:
  - import: mysteps:summarise
treatments:
  grid:
    shift: [0.2, 5e-1, 1.0]
    scale: [1, 2, 3]
  alone: {shift: 2.0}
hypotheses:
  - metric: mean
    direction: increase
    test: paired_t
"""

NAMES = [f"shift={s},scale={c}" for s in ("0.2", "0.5", "1.0") for c in ("1", "2", "3")]


def test_a_grid_in_a_file_builds_every_combination_beside_named_treatments(project):
    experiment = Experiment.from_yaml(project(GRID))
    assert [t.name for t in experiment.treatments] == [*NAMES, "alone"]
    assert dict(experiment.treatments[3].values) == {"shift": 0.5, "scale": 1}  # 5e-1 read as a number


def test_a_zip_in_a_file_pairs_the_values(project):
    experiment = Experiment.from_yaml(project(GRID.replace("  grid:", "  zip:")))
    assert [t.name for t in experiment.treatments] == ["shift=0.2,scale=1", "shift=0.5,scale=2",
                                                       "shift=1.0,scale=3", "alone"]


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("    scale: [1, 2, 3]", "    scale: [1, 2]", 11, "need one length: shift has 3, scale has 2"),
    ("    scale: [1, 2, 3]", "    scale: 2", 12, "axis 'scale' needs a non-empty list of values"),
    ("    scale: [1, 2, 3]", "    seed: [1, 2]", 12, "context key 'seed' is set by crystallize"),
    ("  grid:\n    shift: [0.2, 5e-1, 1.0]\n    scale: [1, 2, 3]", "  grid: [1, 2]", 10, "a grid is a mapping"),
])
def test_a_bad_sweep_is_reported_at_its_line(project, old, new, line, message):
    text = GRID.replace("  grid:", "  zip:") if "one length" in message else GRID
    error = config_error(project(text.replace(old, new)))
    assert any(p.line == line and message in p.message for p in error.problems), error.problems


pytestmark_cli = pytest.mark.skipif(COMMAND is None, reason="the crystallize command is not installed")


def _grid_lines(out: str) -> list[str]:
    """The grid table's header and the first line of each row."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "╲" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("└"))
    return [lines[start], *(line for line in lines[start + 1:end] if line.startswith("│ ") and line[2] != " ")]


@pytestmark_cli
@pytest.mark.slow
def test_the_command_runs_a_file_grid_and_prints_it_as_a_table(project):
    path = project(GRID)
    done = crystallize("run", path.name, "--no-progress", cwd=path.parent)
    assert "mean (paired_t): shift (rows) × scale (columns)" in done.stdout
    boxed = crystallize("show", "--format", "table", cwd=path.parent).stdout  # piped, run prints no box drawing
    header = next(line for line in boxed.splitlines() if "shift ╲ scale" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")][1:] == ["1", "2", "3"]
    assert [line.split("│")[1].strip() for line in _grid_lines(boxed)[1:]] == ["0.2", "0.5", "1.0"]
    assert "alone" in done.stdout.split("Verdicts (difference")[1]  # the named treatment stays listed


@pytestmark_cli
@pytest.mark.slow
def test_t_options_replace_the_treatments_with_a_grid(project):
    path = project(GRID)
    done = crystallize("run", path.name, "--no-progress", "-t", "shift=0.2,5e-1,1", "-t", "scale=1,2,3",
                       cwd=path.parent)
    assert "60 runs" in done.stdout  # baseline + 9 treatments, 6 replicates each
    assert "mean (paired_t): shift (rows) × scale (columns)" in done.stdout and "alone" not in done.stdout
    boxed = crystallize("show", "--format", "table", cwd=path.parent).stdout  # piped, run prints no box drawing
    assert [line.split("│")[1].strip() for line in _grid_lines(boxed)[1:]] == ["0.2", "0.5", "1"]


@pytestmark_cli
@pytest.mark.parametrize(("args", "message"), [
    (("-t", "shift"), "-t 'shift': write KEY=VALUE,VALUE,..."),
    (("-t", "shift=1,,2"), "an empty value for 'shift'"),
    (("-t", "shift=1", "-t", "shift=2"), "'shift' is already swept by an earlier -t"),
    (("-t", "seed=1,2"), "axis 'seed' is set by crystallize"),
])
def test_a_bad_t_option_is_one_clear_line(project, args, message):
    path = project(GRID)
    done = crystallize("run", path.name, "--no-progress", *args, cwd=path.parent, code=2)
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (path.parent / ".crystallize").exists() or "run id" not in done.stdout
