"""The installed command with sequential designs: ``run --sequential``, a budget raised on resume,
``--replicates`` on a sequential file, ``show``, and ``plan`` on stored sequential and fixed runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crystallize import Result
from crystallize.stats import sequential_plan

from .conftest import COMMAND, crystallize
from .conftest import run_id_in as _run_id

pytestmark = [pytest.mark.slow, pytest.mark.skipif(COMMAND is None, reason="the crystallize command is not installed")]

STEPS = '''
from crystallize import data_source, pipeline_step


@data_source
def noisy(ctx, *, n=20):
    return ctx.rng.normal(0.0, 1.0, n)


@pipeline_step
def score(data, ctx, *, shift=0.0, noise=0.0):
    return {"accuracy": float(data.mean()) + shift + noise * float(ctx.rng.normal())}
'''

# paired differences: shift + noise * N(0, 1), so "better" has effect / sd = 1 and "same" none
EXPERIMENT = """\
name: {name}
seed: 11
replicates: {replicates}
datasource: steps:noisy
steps: [steps:score]
treatments:
{treatments}
hypotheses:
  - metric: accuracy
    direction: increase
    test: {test}
"""
BETTER = "  better: {shift: 0.5, noise: 0.5}"
SAME = "  same: {noise: 0.5}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("sequential_cli")
    (here / "steps.py").write_text(STEPS)
    files = {
        "sequential.yaml": ("sequential", "{sequential: {max: 40, batch: 5}}", BETTER, "sequential_t"),
        "fixed.yaml": ("fixed", "12", BETTER, "paired_t"),
        "anytime.yaml": ("anytime", "12", BETTER, "sequential_t"),
        "null.yaml": ("no-effect", "{sequential: {max: 10, batch: 5}}", SAME, "sequential_t"),
    }
    for file, (name, replicates, treatments, test) in files.items():
        (here / file).write_text(EXPERIMENT.format(name=name, replicates=replicates, treatments=treatments,
                                                   test=test))
    return here


@pytest.fixture(scope="module")
def runs(folder: Path) -> dict[str, str]:
    """Run ids of a sequential run (as written) and a fixed run."""
    return {"sequential": _run_id(crystallize("run", "sequential.yaml", "--no-progress", cwd=folder).stdout),
            "fixed": _run_id(crystallize("run", "fixed.yaml", "--no-progress", cwd=folder).stdout)}


def _load(folder: Path, run_id: str) -> Result:
    return Result.load(run_id, folder / ".crystallize")


def test_a_sequential_file_stops_before_its_budget_and_show_prints_it(folder: Path, runs: dict[str, str]) -> None:
    result = _load(folder, runs["sequential"])
    assert result.stop_reason == "decided" and result.stopped_at is not None and result.stopped_at < 40
    assert len(result.records) == 2 * result.stopped_at and result.get_hypothesis("accuracy").accepted
    shown = crystallize("show", runs["sequential"][:8], cwd=folder)
    assert _run_id(shown.stdout) == runs["sequential"] and "accuracy" in shown.stdout
    assert "Traceback" not in shown.stdout + shown.stderr


def test_run_sequential_turns_a_fixed_file_into_a_sequential_experiment(folder: Path) -> None:
    out = crystallize("run", "anytime.yaml", "--sequential", "--max-replicates", "30", "--batch", "4",
                      "--min-replicates", "6", "--no-progress", cwd=folder).stdout
    result = _load(folder, _run_id(out))
    assert result.provenance["definition"]["sequential"] == {"max": 30, "batch": 4, "min": 6}
    assert result.stop_reason == "decided" and result.stopped_at in (6, 10, 14, 18, 22, 26, 30)
    assert [look["replicates"] for look in result.looks] == list(range(6, result.stopped_at + 1, 4))


def test_run_sequential_refuses_a_fixed_n_test_naming_it_and_sequential_t(folder: Path) -> None:
    err = crystallize("run", "fixed.yaml", "--sequential", "--max-replicates", "30", cwd=folder, code=2).stderr
    assert err.count("\n") == 1 and err.startswith("error: --sequential needs anytime-valid tests")
    assert "hypothesis 'accuracy' uses paired_t" in err and "test: sequential_t" in err


@pytest.mark.parametrize(("args", "message"), [
    (["fixed.yaml", "--max-replicates", "30"], "add --sequential to run it in rounds"),
    (["anytime.yaml", "--sequential"], "--sequential needs --max-replicates N"),
    (["sequential.yaml", "--sequential", "--replicates", "8"], "--replicates sets a fixed number of replicates"),
    (["sequential.yaml", "--min-replicates", "50"], "--min-replicates: Sequential(min=50, max=40)"),
])
def test_contradicting_design_options_exit_2_with_one_line(folder: Path, args: list[str], message: str) -> None:
    err = crystallize("run", *args, cwd=folder, code=2).stderr
    assert err.count("\n") == 1 and message in err


def test_replicates_on_a_sequential_file_runs_a_fixed_design(folder: Path) -> None:
    result = _load(folder, _run_id(crystallize("run", "sequential.yaml", "-n", "6", "--no-progress",
                                               cwd=folder).stdout))
    assert "sequential" not in result.provenance["definition"] and result.stopped_at is None
    assert len(result.records) == 12 and result.get_hypothesis("accuracy").test == "sequential_t"


def test_a_budget_raised_on_resume_extends_the_run(folder: Path) -> None:
    first = _load(folder, _run_id(crystallize("run", "null.yaml", "--no-progress", cwd=folder).stdout))
    assert (first.stopped_at, first.stop_reason) == (10, "max_replicates")
    out = crystallize("run", "null.yaml", "--resume", "--max-replicates", "20", "--no-progress", cwd=folder).stdout
    extended = _load(folder, _run_id(out))
    assert extended.run_id == first.run_id and extended.stopped_at == 20 and len(extended.records) == 40
    for condition in ("baseline", "same"):  # the first ten replicates are those already run
        assert extended.metrics[condition]["accuracy"][:10] == first.metrics[condition]["accuracy"]


def _differences_sd(result: Result) -> float:
    pairs = result.paired_samples("accuracy", "better")
    diffs = [t - b for b, t in zip(pairs.baseline, pairs.treatment)]
    mean = sum(diffs) / len(diffs)
    return (sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)) ** 0.5


@pytest.mark.parametrize("which", ["sequential", "fixed"])
def test_plan_json_is_sequential_plan_of_the_observed_spread(folder: Path, runs: dict[str, str], which: str) -> None:
    out = crystallize("plan", runs[which][:8], "--effect", "0.25", "--power", "0.9", "--json", cwd=folder).stdout
    data = json.loads(out)
    assert (data["run_id"], data["effect"], data["power"]) == (runs[which], 0.25, 0.9)
    (row,) = data["plans"]
    result = _load(folder, runs[which])
    sd = _differences_sd(result)
    expected = sequential_plan(0.25, sd, alpha=0.05, power=0.9, prior_scale=0.5, alternative="greater")
    assert row["sd"] == pytest.approx(sd, rel=1e-12) and row["pairs"] == len(result.records) // 2
    assert (row["hypothesis"], row["treatment"], row["claim"], row["note"]) == ("accuracy", "better", "greater", None)
    assert row["fixed_replicates"] == expected.fixed_replicates
    assert row["max_replicates"] == expected.max_replicates
    assert row["expected_replicates"] == pytest.approx(expected.expected_replicates)
    assert row["median_replicates"] == pytest.approx(expected.median_replicates)
    assert row["fixed_replicates"] < row["max_replicates"] and row["expected_replicates"] < row["max_replicates"]


def test_plan_prints_a_table_and_refuses_unknown_names(folder: Path, runs: dict[str, str]) -> None:
    out = crystallize("plan", runs["fixed"][:8], "--effect", "0.25", "--alpha", "0.01", cwd=folder).stdout
    plan = sequential_plan(0.25, _differences_sd(_load(folder, runs["fixed"])), alpha=0.01, power=0.8)
    assert "Replicates per condition to detect 0.25 with power 0.8" in out and "fixed n" in out
    row = next(line for line in out.splitlines() if line.startswith("accuracy"))  # piped: no box drawing
    cells = re.split(r"\s{2,}", row.strip())
    assert cells[:3] == ["accuracy", "better", "greater"] and cells[4] == "0.01"
    assert cells[5:7] == [str(plan.fixed_replicates), str(plan.max_replicates)]
    err = crystallize("plan", runs["fixed"][:8], "--effect", "0.25", "--treatment", "beter", cwd=folder,
                      code=2).stderr
    assert err.count("\n") == 1 and "treatment 'beter' (did you mean 'better'?)" in err
    err = crystallize("plan", runs["fixed"][:8], cwd=folder, code=2).stderr
    assert "Missing option '--effect'" in err


def test_plan_notes_an_effect_against_the_claim(folder: Path, runs: dict[str, str]) -> None:
    data = json.loads(crystallize("plan", runs["fixed"], "--effect", "-0.1", "--json", cwd=folder).stdout)
    (row,) = data["plans"]
    assert row["max_replicates"] is None and "not in the claimed direction (greater)" in row["note"]
    out = crystallize("plan", runs["fixed"], "--effect", "-0.1", cwd=folder).stdout
    assert "note: accuracy / better: an effect of -0.1 is not in the claimed direction" in out


def test_list_shows_a_sequential_runs_budget_as_a_ceiling_not_a_shortfall(folder: Path, runs: dict[str, str]) -> None:
    document = json.loads(crystallize("list", "--json", cwd=folder).stdout)
    by_id = {run["id"]: run for run in document["runs"]}
    sequential, fixed = by_id[runs["sequential"]], by_id[runs["fixed"]]
    assert sequential["sequential"] is True and fixed["sequential"] is False
    assert sequential["runs_done"] < sequential["runs_planned"]
    table = crystallize("list", cwd=folder).stdout
    assert f"{sequential['runs_done']} (up to {sequential['runs_planned']})" in table
    assert f"{fixed['runs_done']}/{fixed['runs_planned']}" in table
