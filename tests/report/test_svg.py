"""SVG primitives and the three plots."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from scipy import stats

from crystallize.report.numbers import describe, mean_difference
from crystallize.report.plots import ForestRow, SampleRow, forest_plot, paired_plot, samples_plot
from crystallize.report.svg import Scale, document, nice_ticks, text, tick_label

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("lo", "hi"), [(0.12, 0.97), (0.951, 0.972), (-3.2, 0.01), (5.0, 5.0), (0, 1500)])
def test_nice_ticks_cover_the_range_with_round_even_steps(lo: float, hi: float) -> None:
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and 3 <= len(ticks) <= 12
    mantissa = steps.pop() / 10 ** math.floor(math.log10(ticks[1] - ticks[0]))
    assert round(mantissa, 6) in (1, 2, 2.5, 5, 10)


def test_tick_labels_show_the_decimals_the_spacing_needs() -> None:
    assert [tick_label(t, [0.95, 0.955]) for t in (0.95, 0.955)] == ["0.950", "0.955"]
    assert tick_label(500.0, [0.0, 500.0]) == "500"
    assert tick_label(0.25, [0.0, 0.25]) == "0.25"


def test_scale_maps_linearly_and_handles_an_empty_domain() -> None:
    assert Scale(0, 10, 100, 200)(5) == 150
    assert Scale(0, 10, 200, 100)(10) == 100
    assert Scale(3, 3, 0, 10)(3) == 5


def test_text_and_titles_are_escaped_and_the_document_is_responsive() -> None:
    svg = document(100, 50, [text(1, 2, "<script>alert('x')</script> & co")], title='a "quoted" <title>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp; co" in svg
    root = ET.fromstring(svg)
    assert root.get("viewBox") == "0 0 100 50" and root.get("width") == "100%"
    assert root.find(f"{SVG}title").text == 'a "quoted" <title>'


def _rows() -> list[SampleRow]:
    data = {"baseline": [0.90, 0.92, 0.91, 0.95], "<wide> treatment name": [0.93, 0.97, 0.96, 0.99]}
    return [SampleRow(name, list(enumerate(v)), describe(v)) for name, v in data.items()]  # type: ignore[arg-type]


def test_samples_plot_draws_every_sample_a_box_and_the_mean_per_condition() -> None:
    root = ET.fromstring(samples_plot(_rows(), "accuracy"))
    circles = root.findall(f".//{SVG}circle")
    assert len([c for c in circles if c.get("class") == "point"]) == 8
    assert len([c for c in circles if c.get("class") == "mean"]) == 2
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "box"]) == 2
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
    assert labels[0] == "baseline"
    assert labels[1].startswith("<wide> tr") and labels[1].endswith("…")  # long names are shortened
    assert any(c.findtext(f"{SVG}title").startswith("<wide> treatment name, replicate") for c in circles)
    xs = sorted(float(c.get("cx")) for c in circles if c.get("class") == "point")
    width = float(root.get("viewBox").split()[2])
    assert 0 < xs[0] < xs[-1] < width  # every point inside the plot


def test_paired_plot_joins_each_replicate_to_its_baseline_and_skips_missing_values() -> None:
    series = {0: [1.0, 2.0, 3.0], 1: [1.5, None, 2.5], 2: [1.2, 2.2, 3.1], 3: [None, 2.0, 3.0]}
    root = ET.fromstring(paired_plot(["baseline", "a", "b"], series, "score"))
    paths = [p for p in root.iter(f"{SVG}path") if p.get("class") == "pair"]
    # baseline -> a and baseline -> b per replicate; replicate 1 lacks "a", replicate 3 its baseline
    assert len(paths) == 2 + 1 + 2
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "mean-line"]) == 2
    # each panel draws the baseline's points (3) beside its treatment's (3 for a, 4 for b)
    assert len([c for c in root.iter(f"{SVG}circle") if c.get("class") == "pair-point"]) == 6 + 7


def test_forest_plot_puts_the_zero_line_inside_and_colours_by_verdict() -> None:
    rows = [ForestRow("up", 0.4, 0.1, 0.7, "accepted"), ForestRow("down", -0.2, -0.5, 0.1, "not-accepted")]
    root = ET.fromstring(forest_plot(rows, "score"))
    zero = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "zero")
    estimates = [r for r in root.iter(f"{SVG}rect") if "estimate" in r.get("class", "")]
    assert [e.get("class") for e in estimates] == ["estimate accepted", "estimate not-accepted"]
    up_x = float(estimates[0].get("x")) + 5
    down_x = float(estimates[1].get("x")) + 5
    assert down_x < float(zero.get("x1")) < up_x


def test_mean_difference_is_paired_when_replicates_align() -> None:
    base = {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0}
    treat = {0: 1.5, 1: 2.4, 2: 3.6, 3: 4.5}
    paired = mean_difference(base, treat)
    assert paired is not None and paired.paired and paired.n == 4
    assert paired.estimate == pytest.approx(0.5)
    expected = stats.ttest_rel(list(treat.values()), list(base.values())).confidence_interval()
    assert paired.ci == pytest.approx((expected.low, expected.high))
    welch = mean_difference({0: 1.0, 1: 2.0}, {5: 2.0, 6: 4.0})
    expected = stats.ttest_ind([2.0, 4.0], [1.0, 2.0], equal_var=False).confidence_interval()
    assert welch is not None and not welch.paired and welch.estimate == pytest.approx(1.5)
    assert welch.ci == pytest.approx((expected.low, expected.high))


def test_forest_plot_pads_its_axis_beyond_every_value() -> None:
    # the k15 verdict of the YAML quickstart: every value at or below 0, so 0 sat on the plot's right edge
    rows = [ForestRow("k15", -0.00944, -0.0131, -0.00576, "accepted", margins=(-0.02,)),
            ForestRow("noisy_labels", -0.175, -0.192, -0.157, "not-accepted", margins=(-0.02,))]
    root = ET.fromstring(forest_plot(rows, "macro_f1"))
    axis = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "axis")
    left, right = float(axis.get("x1")), float(axis.get("x2"))
    zero = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "zero")
    ends = [float(line.get("x1")) for line in root.iter(f"{SVG}line") if "whisker" in line.get("class", "")]
    drawn = [float(zero.get("x1")), *ends]
    assert all(left + 8 < x < right - 8 for x in drawn)
    # one margin line over both rows, labelled once above them
    margins = [line for line in root.iter(f"{SVG}line") if line.get("class") == "margin"]
    assert len(margins) == 1 and float(margins[0].get("y2")) - float(margins[0].get("y1")) > 80
    assert [t.text for t in root.iter(f"{SVG}text") if "margin-label" in t.get("class", "")] == ["margin"]


def test_paired_plot_draws_one_panel_per_treatment_with_its_lines_inside() -> None:
    series = {r: [1.0 + r, 2.0 + r, 0.5 + r] for r in range(4)}
    root = ET.fromstring(paired_plot(["baseline", "a", "b"], series, "score"))
    panels = [g for g in root.iter(f"{SVG}g") if g.get("class") == "panel"]
    assert len(panels) == 2
    for panel in panels:
        axis = next(line for line in panel.iter(f"{SVG}line") if line.get("class") == "axis")
        x1, x2 = float(axis.get("x1")), float(axis.get("x2"))
        for p in panel.iter(f"{SVG}path"):
            xs = [float(point.split(",")[0][1:]) for point in p.get("d").split()]
            assert all(x1 < x < x2 for x in xs)
    assert panels[0].findtext(f"{SVG}title").startswith("a:") and panels[1].findtext(f"{SVG}title").startswith("b:")
    # the panels sit side by side, apart
    first = max(float(line.get("x2")) for line in panels[0].iter(f"{SVG}line") if line.get("class") == "axis")
    second = min(float(line.get("x1")) for line in panels[1].iter(f"{SVG}line") if line.get("class") == "axis")
    assert first < second
