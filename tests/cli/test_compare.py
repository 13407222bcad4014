"""What differs between two experiment runs, and how the metrics moved."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

from crystallize import Experiment, Hypothesis, Pipeline, Result, Treatment, data_source, pipeline_step
from crystallize.cli.compare import differences, metric_moves, render_comparison, verdict_changes
from crystallize.core.stat_test import PairedTTest

from ..verdict_runs import crafted_result


@data_source
def source(ctx, *, shift=0.0):
    return ctx.rng.normal(shift, 1.0 + shift, 20)


@pipeline_step
def score(data, *, scale=1.0):
    return {"score": float(data.mean() * scale)}


def _run(seed: int, replicates: int = 5, scale: float = 1.0) -> Result:
    return Experiment(datasource=source(), pipeline=Pipeline([score(scale=scale)]),
                      treatments=[Treatment("up", {"shift": 0.7})],
                      hypotheses=[Hypothesis("score", PairedTTest(), direction="increase")],
                      replicates=replicates, seed=seed, name="cmp").run(store=False, progress=False)


def test_identical_definitions_have_no_differences_but_the_environment_is_compared() -> None:
    a, b = _run(1), _run(1)
    assert [d for d in differences(a, b) if d.section != "environment"] == []
    moved = metric_moves(a, b)
    assert [(m.condition, m.metric) for m in moved] == [("baseline", "score"), ("up", "score")]
    assert all(m.change == 0 for m in moved)


def test_seed_replicates_and_params_differences_are_named_by_section() -> None:
    a, b = _run(1), _run(2, replicates=7, scale=2.0)
    found = {d.key: d for d in differences(a, b)}
    assert found["master_seed"].section == "seeds" and (found["master_seed"].a, found["master_seed"].b) == ("1", "2")
    assert found["replicates"].section == "definition" and found["replicates"].b == "7"
    assert found["definition.steps[0].params.scale"].a == "1.0"
    assert found["fingerprint"].section == "definition"
    assert found["pipeline_signature"].section == "code"  # the step's params changed
    assert "definition.seed" not in found and not any(k.startswith("seeds.") for k in found)


def test_metric_moves_are_mean_b_minus_mean_a() -> None:
    a, b = _run(1), _run(1, scale=2.0)
    for move in metric_moves(a, b):
        mean_a = sum(a.metrics[move.condition]["score"]) / 5
        assert move.mean_a == pytest.approx(mean_a)
        assert move.mean_b == pytest.approx(2 * mean_a)
        assert move.change == pytest.approx(mean_a)
        assert move.relative == pytest.approx(math.copysign(1.0, mean_a))


def test_verdicts_of_both_runs_side_by_side_and_the_rendering() -> None:
    a, b = _run(1), _run(3, replicates=3)
    (change,) = verdict_changes(a, b)
    assert (change.hypothesis, change.treatment) == ("score", "up")
    assert change.verdict_a == a.hypotheses[0].label and change.p_b == b.hypotheses[0].p_value_adjusted
    buffer = io.StringIO()
    Console(file=buffer, width=140, no_color=True).print(render_comparison(a, b))
    text = buffer.getvalue()
    assert "What differs" in text and "master_seed" in text and "How the metrics moved" in text
    assert "Verdicts" in text


@data_source
def loss_source(ctx, *, lr=0.1):
    return ctx.rng.normal(1.0 / lr, 0.05, 20)


@pipeline_step
def losses(data):
    return {"loss": float(data.mean()), "width": float(data.std())}


def _loss_run(lr: float, direction: str | None) -> Result:
    return Experiment(datasource=loss_source(lr=lr), pipeline=Pipeline([losses()]),
                      treatments=[Treatment("other", {"lr": 0.2})],
                      hypotheses=[Hypothesis("loss", PairedTTest(), direction=direction)],
                      replicates=5, seed=1, name="loss").run(store=False, progress=False)


def _styled_change(a: Result, b: Result, condition: str, metric: str) -> str:
    """The ANSI-coloured "change" cell of one row, as the terminal would get it."""
    buffer = io.StringIO()
    Console(file=buffer, width=160, force_terminal=True, color_system="standard").print(render_comparison(a, b))
    row = next(line for line in buffer.getvalue().splitlines() if f" {condition} " in line and f" {metric} " in line)
    return row


def test_a_change_is_coloured_by_the_way_the_hypothesis_wants_it_not_by_its_sign() -> None:
    # B halves the loss (lr 0.1 -> 0.2): a decrease, which a "decrease" hypothesis calls better
    a, b = _loss_run(0.1, "decrease"), _loss_run(0.2, "decrease")
    moves = {(m.condition, m.metric): m for m in metric_moves(a, b)}
    loss = moves[("baseline", "loss")]
    assert loss.change < 0 and loss.better == -1 and loss.style == "green"
    assert "\x1b[32m" in _styled_change(a, b, "baseline", "loss")  # green, where the sign alone said red
    assert moves[("baseline", "width")].better is None and moves[("baseline", "width")].style == ""
    assert "\x1b[3" not in _styled_change(a, b, "baseline", "width").split("width")[1]
    # the same move against an "increase" hypothesis is red, and without a direction it is not coloured
    assert metric_moves(_loss_run(0.1, "increase"), _loss_run(0.2, "increase"))[0].style == "red"
    assert metric_moves(_loss_run(0.1, None), _loss_run(0.2, None))[0].style == ""


def test_compare_never_rounds_a_p_value_across_alpha() -> None:
    buffer = io.StringIO()
    Console(file=buffer, width=140, no_color=True).print(
        render_comparison(crafted_result(0.049996), crafted_result(0.050004)))
    text = buffer.getvalue()
    assert "0.049996" in text and "0.050004" in text  # both "0.05" with four digits


def test_no_change_percentage_of_a_mean_indistinguishable_from_0() -> None:
    @data_source
    def centred(ctx, *, shift=0.0):
        return float(ctx.rng.normal(shift, 1.0))

    @pipeline_step
    def value(data):
        return {"v": data}

    def run(shift: float) -> Result:
        return Experiment(datasource=centred(shift=shift), pipeline=Pipeline([value()]), treatments=[],
                          replicates=6, seed=3, name="c").run(store=False, progress=False)

    (move,) = metric_moves(run(0.0), run(1.0))
    assert abs(move.mean_a) < 2 * move.sd_a / math.sqrt(6) and move.relative is None
    (move,) = metric_moves(run(5.0), run(6.0))
    assert move.relative == pytest.approx(move.change / abs(move.mean_a))
