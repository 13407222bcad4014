"""The summary of a sequential experiment: how many replicates ran and why it stopped, and each
verdict's evidence (E) and the look where it was decided."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crystallize import Hypothesis, SequentialTTest
from crystallize.core.display import format_e_value, format_p, stop_text
from crystallize.core.summary import summary_text

from ..execution.experiments import Stopper
from ..sequential_runs import run_sequential, sequential_experiment, sequential_tables

CRYSTALLIZE = Path(sys.executable).with_name("crystallize")


@pytest.fixture(scope="module")
def decided():  # type: ignore[no-untyped-def]
    """better accepted at 20, same futile at 35 (no effect >= 0.3): stopped at 35 of 60."""
    return run_sequential()


# -- E, compactly ---------------------------------------------------------------------------------


@pytest.mark.parametrize("log_e", [0.0, 1.0, -0.4, 2.9957, 6.33, math.log(999.4), math.log(0.0213), -6.9])
def test_an_e_value_of_ordinary_size_shows_three_significant_digits(log_e):
    shown = format_e_value(log_e)
    assert "e" not in shown
    assert float(shown) == pytest.approx(math.exp(log_e), rel=5e-3)


@pytest.mark.parametrize(("log_e", "shown"), [
    (math.log(1.6e4), "1.6e+04"), (math.log(999.6), "1.0e+03"), (math.log(9.96e12), "1.0e+13"),
    (math.log(2.5e-7), "2.5e-07"), (5000.0, "3.0e+2171"), (-5000.0, "3.4e-2172"),
    (math.inf, "∞"), (-math.inf, "0"), (None, "—"), (math.nan, "—"),
])
def test_a_huge_or_tiny_e_value_is_written_from_its_log_without_overflow(log_e, shown):
    assert format_e_value(log_e) == shown
    if shown[0].isdigit() and "e" in shown and abs(log_e) < 700:
        assert float(shown) == pytest.approx(math.exp(log_e), rel=0.05)


# -- the header: replicates run and why it stopped -------------------------------------------------


def test_the_header_says_how_many_replicates_ran_of_the_budget_and_why_it_stopped(decided):
    assert (decided.stopped_at, decided.stop_reason) == (35, "decided")
    header = summary_text(decided, color=False).split("Samples")[0]
    assert "sequential: stopped at 35 of at most 60 replicates: every hypothesis decided (1 of 2 futile)" in header
    assert "replicates 60" not in header  # the budget is not what was run


@pytest.mark.parametrize(("reason", "said"), [
    ("decided", "every hypothesis decided"), ("futile", "every hypothesis futile (no effect >= min_effect)"),
    ("max_replicates", "budget spent"), ("interrupted", "interrupted"),
])
def test_each_stop_reason_is_said_in_words(reason, said):
    info = {"design": {"max": 200, "batch": 5, "min": 5}, "stop_reason": reason, "stopped_at": 35, "looks": []}
    assert stop_text(info) == f"sequential: stopped at 35 of at most 200 replicates: {said}"
    assert stop_text(None) == ""


def test_a_run_that_spends_its_budget_says_so_and_which_verdicts_stayed_open():
    result = run_sequential([Hypothesis("x", SequentialTTest(), direction="increase")], max_replicates=20)
    assert result.stop_reason == "max_replicates"
    text = summary_text(result, color=False, width=160)
    assert "sequential: stopped at 20 of at most 20 replicates: budget spent (1 of 2 inconclusive)" in text
    same = result.get_hypothesis("x", "same")
    assert same.label == "inconclusive at max" and same.decided_at is None
    lines = text.split("Verdicts")[1].splitlines()
    row = next(i for i, line in enumerate(lines) if "│ same" in line)
    after = lines[row + 1]
    assert f"E = {format_e_value(same.e_value)}" in after and "decided at" not in after


def test_a_run_where_every_hypothesis_is_futile_says_so():
    result = run_sequential(treatments=["same"])
    assert result.stop_reason == "futile"
    assert "replicates: every hypothesis futile (no effect >= min_effect)" in summary_text(result, color=False)


def test_an_interrupted_sequential_run_says_so():
    result = sequential_experiment().run(store=False, progress=False, callbacks=[Stopper(after=37)])
    assert result.interrupted and result.stop_reason == "interrupted"
    header = summary_text(result, color=False, width=160).split("Samples")[0]
    assert "sequential: stopped at 10 of at most 60 replicates: interrupted (2 of 2 undecided)" in header
    assert "INTERRUPTED: partial result" in header


def test_a_fixed_design_keeps_its_header():
    from ..verdict_runs import run_fixed

    text = summary_text(run_fixed([1.0, 2.0, 3.0], [1.5, 2.5, 3.0], [Hypothesis("x")]), color=False)
    assert "replicates 3" in text and "sequential" not in text and "E = " not in text


# -- each verdict: its evidence and where it was decided ----------------------------------------------


def test_each_verdict_shows_its_e_value_and_where_it_was_decided(decided):
    text = summary_text(decided, color=False, width=160)
    lines = text.split("Verdicts")[1].splitlines()
    better, same = decided.hypotheses
    assert (better.label, better.decided_at, same.label, same.decided_at) == (
        "accepted", 20, "no effect >= min_effect", 35)
    for v in (better, same):
        # the verdict's ln E is the recorded one at the last look
        last = decided.looks[-1]["verdicts"]
        assert v.e_value == next(r["log_e"] for r in last if r["treatment"] == v.treatment)
        row = next(i for i, line in enumerate(lines) if f"│ {v.treatment} " in line)
        cell = [re.split(r"\s*│\s*", line)[-2] for line in lines[row:row + 3]]
        assert cell == [v.label, f"E = {format_e_value(v.e_value)}", f"decided at {v.decided_at}"]
        assert f"{v.ci[0]:.3g}" in text and "95% CS" in text
    assert format_e_value(better.e_value) == "1.6e+04"


@pytest.mark.parametrize("width", [60, 80, 100, 120])
def test_sequential_numbers_and_labels_never_break_across_lines(width):
    table = sequential_tables()
    table["[red]better[/red]"] = table.pop("better")
    result = run_sequential(treatments=["[red]better[/red]", "same"], table=table)
    text = summary_text(result, color=False, width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    for v in result.hypotheses:
        pieces = [v.label, f"E = {format_e_value(v.e_value)}", f"decided at {v.decided_at}",
                  f"[{v.ci[0]:.3g}, {v.ci[1]:.3g}]", format_p(v.p_value, v.alpha)]
        for piece in pieces:
            assert any(piece in line for line in lines), (width, piece)
    assert "[red]better[/red]" in text  # a user's name is shown as written, never as markup


def test_crystallize_show_prints_the_same_stop_line_and_evidence(tmp_path):
    result = sequential_experiment().run(store=tmp_path / "store", progress=False)
    shown = subprocess.run([str(CRYSTALLIZE), "--store", str(tmp_path / "store"), "show", str(result.run_id)],
                           capture_output=True, text=True, timeout=120, env={"COLUMNS": "160", "PATH": ""})
    assert shown.returncode == 0, shown.stderr
    assert "sequential: stopped at 35 of at most 60 replicates: every hypothesis decided (1 of 2 futile)" in shown.stdout
    better = result.get_hypothesis("x", "better")
    assert f"E = {format_e_value(better.e_value)}" in shown.stdout and "decided at 20" in shown.stdout
