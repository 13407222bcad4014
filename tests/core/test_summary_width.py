"""The summary in a narrow terminal: no number, label or header item is ever split across lines;
a table that does not fit is folded (fewer columns, fewer metrics per table, or one block per
verdict). Checked with Rich's console at 80 and 120 columns (issue 15, point 4)."""

from __future__ import annotations

import io
import warnings

import pytest
from rich.console import Console

from crystallize import Experiment, Hypothesis, Pipeline, Result, Treatment, data_source, pipeline_step
from crystallize.core.display import estimate_value, format_number, format_p, interval_bounds, mean_sd
from crystallize.core.stat_test import PairedTTest
from crystallize.core.summary import summary_text

from ..sequential_runs import run_sequential
from ..verdict_runs import crafted_result

LONG = ("more_components_with_whitening", "less_regularised_C_10_and_balanced_class_weights")
METRICS = [f"accuracy_top{k}_heldout" for k in range(1, 13)]


@data_source
def draw(ctx, *, shift=0.0, spread=1.0):
    return ctx.rng.normal(0.0, 1.0, len(METRICS)) * spread + shift


@pipeline_step
def score(data, *, count=len(METRICS)):
    return {name: float(value) for name, value in zip(METRICS[:count], data)}


def two_treatments(names: tuple[str, str], metrics: int = len(METRICS)) -> Result:
    """``metrics`` metrics, two treatments named ``names``: one accepted, one against its direction."""
    experiment = Experiment(
        datasource=draw(), pipeline=Pipeline([score(count=metrics)]),
        treatments=[Treatment(names[0], {"shift": 3.0, "spread": 0.01}), Treatment(names[1], {"shift": -0.4})],
        hypotheses=[Hypothesis(METRICS[0], PairedTTest(), direction="increase"),
                    Hypothesis(METRICS[1], PairedTTest(), direction="increase")],
        replicates=12, seed=2024, name="digits-quickstart-with-whitening-and-class-weights")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return experiment.run(store=False, progress=False)


@pytest.fixture(scope="module")
def wide() -> Result:
    """12 metrics, two treatments with long names, a long experiment name."""
    return two_treatments(LONG)


def atoms(result: Result) -> list[str]:
    """Every piece of the summary that must stay on one line."""
    prov = result.provenance
    out = [f"{len(result.records)} runs, {len(result.errors)} failed", f"seed {prov['master_seed']}"]
    if "sequential" not in prov:
        out.append(f"replicates {prov['replicates']}")
    for condition in result.conditions:
        for metric in result.metric_names[:8]:
            values = result.metrics[condition][metric]
            mean, sd = mean_sd(values)
            out.append(f"{format_number(mean)} ± {format_number(sd, 3)} (n={len(values)})")
    out += list(result.conditions)  # names narrower than the terminal are never cut either
    for v in result.hypotheses:
        out += [v.label, format_p(v.p_value, v.alpha), format_p(v.p_value_adjusted, v.alpha), estimate_value(v)]
        if v.ci is not None:
            out.append(interval_bounds(v))
    return out


def assert_unbroken(result: Result, width: int) -> str:
    """Render at ``width``: no line is wider, and every atom shows (within a line) as often as
    it does when nothing has to fold."""
    reference = summary_text(result, color=False, width=100_000).splitlines()
    lines = summary_text(result, color=False, width=width).splitlines()
    assert max(map(len, lines)) <= width
    for atom in atoms(result):
        expected = sum(line.count(atom) for line in reference)
        assert expected > 0, atom
        assert sum(line.count(atom) for line in lines) >= expected, (width, atom)
    return "\n".join(lines)


@pytest.mark.parametrize("width", [80, 120])
def test_long_names_and_many_metrics_never_split_a_number_or_label(wide, width):
    assert {v.label for v in wide.hypotheses} == {"accepted", "opposite direction"}
    text = assert_unbroken(wide, width)
    assert "… 4 more metrics" in text


def test_too_many_metrics_for_one_table_are_split_into_tables():
    text = assert_unbroken(two_treatments(("more", "less"), metrics=8), 80)
    assert "Samples: mean ± sd (metrics 1-2 of 8)" in text and "Samples: mean ± sd (metrics 7-8 of 8)" in text


@pytest.mark.parametrize("width", [80, 120])
def test_a_tiny_p_value_and_its_label_stay_whole(width):
    # issue 15: at 80 columns p = 1.46e-10 printed as "1.46e-1" over "0", and labels as "accepte" over "d"
    result = crafted_result(1.46e-10, 0.429)
    text = summary_text(result, color=False, width=width)
    assert max(map(len, text.splitlines())) <= width
    assert sum(line.count("1.46e-10") for line in text.splitlines()) == 2  # p and p adj.
    assert any("not accepted" in line for line in text.splitlines())


def test_the_header_breaks_between_items_only(wide):
    header = summary_text(wide, color=False, width=80).split("Samples")[0]
    lines = header.splitlines()
    assert lines == ["Experiment digits-quickstart-with-whitening-and-class-weights",
                     "  36 runs, 0 failed  ·  replicates 12  ·  seed 2024"]


def test_at_120_columns_the_verdicts_stay_a_table_with_fewer_columns():
    result = two_treatments(("more_components", "less_regularised"), metrics=2)
    text = assert_unbroken(result, 120)
    verdicts = text[text.index("Verdicts"):]
    assert "┃ hypothesis" in verdicts and "p adj." in verdicts  # a table, not one block per verdict
    assert len(text.splitlines()[0]) > 100  # the widest table would not have fitted
    at_80 = assert_unbroken(result, 80)
    assert "┃ hypothesis" not in at_80[at_80.index("Verdicts"):]  # one block per verdict
    for v in result.hypotheses:
        assert f"{v.hypothesis} ↑ paired_t · {v.treatment} · {v.label}" in at_80


@pytest.mark.parametrize("width", [80, 120])
def test_a_sequential_summary_never_splits_a_number_or_label(width):
    result = run_sequential()
    text = assert_unbroken(result, width)
    assert "sequential: stopped at" in text


@pytest.mark.parametrize("width", [80, 120])
def test_a_recording_console_printing_the_result_keeps_every_number_whole(wide, width):
    """The path of ``rich.print(result)``: the console renders ``Result.__rich__``."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(wide)
    lines = console.export_text().splitlines()
    assert max(map(len, lines)) <= width
    for atom in atoms(wide):
        assert any(atom in line for line in lines), (width, atom)
