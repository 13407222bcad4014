"""What differs between two experiment runs, and how the metrics moved."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

from crystallize import Experiment, Hypothesis, Pipeline, Result, Treatment, data_source, pipeline_step
from crystallize.cli.compare import differences, metric_moves, render_comparison, verdict_changes
from crystallize.core.stat_test import PairedTTest


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
