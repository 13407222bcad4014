"""Sweeps: Treatment.grid / Treatment.zip build readable, unique treatments; a grid's verdicts are
shown as tables over its axes in the summary and the report, and Holm covers the whole grid."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from crystallize import Experiment, Hypothesis, PairedTTest, Treatment, data_source, pipeline_step
from crystallize.core.display import format_p, interval_bounds
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.grid_display import grid_layouts, grid_split
from crystallize.core.summary import summary_text
from crystallize.report.html import render_report


@data_source
def points(ctx, *, n=60):
    return ctx.rng.normal(0.0, 1.0, n)


@pipeline_step
def fit(data, *, lr=0.0003, depth=1, opt="adam"):
    # a made-up response surface: higher lr and depth score higher; each setting sees its own slice of noise
    window = 10 + depth + int(lr * 300)
    return {"score": float(data[:window].mean() * 0.1 + 2.0 * lr + 0.004 * depth)}


def grid_experiment(treatments, replicates=8):
    return Experiment(datasource=points(), pipeline=[fit()], treatments=treatments,
                      hypotheses=[Hypothesis("score", PairedTTest(), direction="increase")],
                      replicates=replicates, seed=3, name="grid-3x3")


@pytest.fixture(scope="module")
def grid_result():
    return grid_experiment(Treatment.grid(lr=[0.001, 0.01, 0.03], depth=[2, 4, 8])).run(store=False)


# -- building the treatments ------------------------------------------------------------------


def test_grid_names_every_combination_first_axis_slowest():
    treatments = Treatment.grid(lr=[1e-3, 1e-2], depth=[2, 4])
    assert [t.name for t in treatments] == ["lr=0.001,depth=2", "lr=0.001,depth=4", "lr=0.01,depth=2",
                                            "lr=0.01,depth=4"]
    assert [dict(t.values) for t in treatments][1] == {"lr": 0.001, "depth": 4}


def test_zip_pairs_the_ith_values():
    assert [t.name for t in Treatment.zip(lr=[1e-3, 1e-2], depth=[2, 4])] == ["lr=0.001,depth=2", "lr=0.01,depth=4"]


@pytest.mark.parametrize(("values", "names"), [
    ([1e-5, 0.5, 2.0], ["x=1e-05", "x=0.5", "x=2.0"]),
    (np.linspace(0, 1, 3), ["x=0.0", "x=0.5", "x=1.0"]),          # NumPy scalars as plain numbers
    (np.arange(2), ["x=0", "x=1"]),
    ([True, None, "adam", "two words", "a,b"], ["x=True", "x=None", "x=adam", "x='two words'", "x='a,b'"]),
    ([1, 1.0], ["x=1", "x=1.0"]),                                 # distinct values keep distinct names
    (["y" * 60], ["x=" + "y" * 39 + "…"]),
])
def test_values_are_written_in_a_short_repr_like_form(values, names):
    assert [t.name for t in Treatment.grid(x=values)] == names


def test_keys_that_are_not_identifiers_are_given_as_a_mapping():
    assert [t.name for t in Treatment.grid({"model.lr": [0.1]}, depth=[2])] == ["model.lr=0.1,depth=2"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: Treatment.grid(), "needs at least one axis"),
    (lambda: Treatment.grid(lr=0.1), "axis 'lr' needs a list of values, got float 0.1"),
    (lambda: Treatment.grid(opt="adam"), "axis 'opt' needs a list of values, got str"),
    (lambda: Treatment.grid(lr=[]), "axis 'lr' has no values"),
    (lambda: Treatment.grid(seed=[1, 2]), "axis 'seed' is set by crystallize"),
    (lambda: Treatment.zip(lr=[1, 2], depth=[1]), "need one length: lr has 2, depth has 1"),
    (lambda: Treatment.grid(lr=[0.1, 0.1]), "two combinations are both named 'lr=0.1'"),
])
def test_bad_axes_are_refused_with_the_axis_named(call, message):
    with pytest.raises(ExperimentDefinitionError, match=message.replace("(", r"\(")):
        call()


@pipeline_step
def echo(data, *, lr=0.0003, depth=1):
    return {"lr": lr, "depth": depth}


def test_each_grid_treatment_sets_its_values_in_the_context_and_the_baseline_keeps_the_defaults():
    result = Experiment(datasource=points(), pipeline=[echo()], treatments=Treatment.grid(lr=[0.001, 0.01], depth=[2, 4]),
                        replicates=2, seed=1).run(store=False)
    assert result.metrics["baseline"] == {"lr": [0.0003, 0.0003], "depth": [1, 1]}
    assert result.metrics["lr=0.01,depth=2"] == {"lr": [0.01, 0.01], "depth": [2, 2]}


# -- multiple comparisons over the grid -------------------------------------------------------


def test_holm_adjusts_over_every_treatment_of_the_grid(grid_result):
    verdicts = grid_result.hypotheses
    assert len(verdicts) == 9
    raw = [v.p_value for v in verdicts]
    # statsmodels.stats.multitest.multipletests(raw, method="holm")[1]: the reference Holm step-down
    expected = multipletests(raw, alpha=0.05, method="holm")[1]
    np.testing.assert_allclose([v.p_value_adjusted for v in verdicts], expected, rtol=1e-12)
    # and by hand: sorted p_(i) times (m - i + 1), made monotone, capped at 1
    order = np.argsort(raw)
    by_hand = np.minimum(1, np.maximum.accumulate(np.asarray(raw)[order] * (9 - np.arange(9))))
    np.testing.assert_allclose(np.asarray([v.p_value_adjusted for v in verdicts])[order], by_hand, rtol=1e-12)
    assert {v.comparisons for v in verdicts} == {9}


# -- the grid as a table ------------------------------------------------------------------------


def test_the_layout_puts_the_first_axis_on_rows_and_the_second_on_columns(grid_result):
    (layout,) = grid_layouts(grid_result)
    assert (layout.rows_axis, layout.columns_axis) == ("lr", "depth")
    assert layout.rows == ("0.001", "0.01", "0.03") and layout.columns == ("2", "4", "8")
    assert layout.cells[("0.01", "4")].treatment == "lr=0.01,depth=4"
    assert [v.treatment for v in layout.verdicts] == [v.treatment for v in grid_result.hypotheses]


def test_the_summary_shows_the_grid_as_a_table_instead_of_a_list(grid_result):
    text = summary_text(grid_result, width=160)
    assert "score (paired_t): lr (rows) × depth (columns)" in text
    header = next(line for line in text.splitlines() if "lr ╲ depth" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")][1:] == ["2", "4", "8"]
    row = text.splitlines().index(next(line for line in text.splitlines() if line.startswith("│ 0.01 ")))
    cells = [v for v in grid_result.hypotheses if v.treatment.startswith("lr=0.01,")]
    # four lines per row: labels, differences, intervals, p adj. (in column order)
    assert [c.strip() for c in text.splitlines()[row].split("│")[2:5]] == [v.label for v in cells]
    assert [c.strip() for c in text.splitlines()[row + 2].split("│")[2:5]] == [interval_bounds(v) for v in cells]
    assert [c.strip() for c in text.splitlines()[row + 3].split("│")[2:5]] == [
        f"p adj. {format_p(v.p_value_adjusted, v.alpha)}" for v in cells]
    assert "Verdicts (difference" not in text  # every verdict is in the table, none listed twice


def test_a_3x3_grid_fits_80_columns_and_a_narrower_terminal_gets_the_list(grid_result):
    text = summary_text(grid_result, width=80)
    assert "lr ╲ depth" in text and all(len(line) <= 80 for line in text.splitlines())
    text = summary_text(grid_result, width=70)
    assert "lr ╲ depth" not in text and "score ↑ paired_t · lr=0.03,depth=8" in text
    assert all(len(line) <= 70 for line in text.splitlines())


def test_three_axes_give_one_table_per_value_of_the_third():
    result = grid_experiment(Treatment.grid(lr=[0.001, 0.01], depth=[2, 4], opt=["adam", "sgd"]),
                             replicates=4).run(store=False)
    layouts = grid_layouts(result)
    assert [layout.fixed for layout in layouts] == ["opt=adam", "opt=sgd"]
    assert layouts[1].cells[("0.01", "2")].treatment == "lr=0.01,depth=2,opt=sgd"
    assert "score (paired_t): lr (rows) × depth (columns) at opt=sgd" in summary_text(result, width=160)


def test_zips_incomplete_grids_and_named_treatments_stay_in_the_list():
    grid = Treatment.grid(lr=[0.001, 0.01], depth=[2, 4])
    treatments = [*Treatment.zip(lr=[0.002, 0.02], depth=[3, 5]), Treatment("tuned", {"lr": 0.05}), *grid]
    result = grid_experiment(treatments, replicates=4).run(store=False)
    layouts, listed = grid_split(result)
    assert len(layouts) == 1 and len(layouts[0].cells) == 4
    assert [v.treatment for v in listed] == ["lr=0.002,depth=3", "lr=0.02,depth=5", "tuned"]
    text = summary_text(result, width=160)
    assert "lr ╲ depth" in text and "Verdicts (difference" in text and "tuned" in text
    incomplete = grid_experiment(grid[:3], replicates=4).run(store=False)
    assert grid_layouts(incomplete) == [] and "lr ╲ depth" not in summary_text(incomplete, width=160)


def test_the_html_report_adds_the_grid_table(grid_result):
    html = render_report(grid_result)
    section = html[html.index('<section id="grid">'):]
    section = section[:section.index("</section>")]
    assert "<caption>score (paired_t): lr (rows) × depth (columns)</caption>" in section
    assert "<th>lr ╲ depth</th><th>2</th><th>4</th><th>8</th>" in section
    assert section.count('class="badge') == 9
    v = grid_result.get_hypothesis("score", "lr=0.03,depth=8")
    assert f"p adj. {format_p(v.p_value_adjusted, v.alpha)}" in section
    assert '<table class="verdicts stack">' in html  # the full verdict table stays


def test_a_stored_grid_run_shows_its_table_after_loading(grid_result, tmp_path):
    result = grid_experiment(Treatment.grid(lr=[0.001, 0.01, 0.03], depth=[2, 4, 8])).run(store=str(tmp_path))
    loaded = type(result).load(result.run_id, store=str(tmp_path))
    assert [layout.cells for layout in grid_layouts(loaded)] and "lr ╲ depth" in summary_text(loaded, width=160)


def test_a_key_no_step_reads_is_reported_once_for_the_whole_grid():
    with pytest.warns(Warning) as caught:
        grid_experiment(Treatment.grid(lr=[0.001, 0.01], typo=[1, 2, 3]), replicates=3).run(store=False)
    unread = [str(w.message) for w in caught if "which no step or data source read" in str(w.message)]
    assert unread == ["treatments 'lr=0.001,typo=1', 'lr=0.001,typo=2', 'lr=0.001,typo=3' and 3 more set 'typo', "
                      "which no step or data source read; check the key's spelling"]
