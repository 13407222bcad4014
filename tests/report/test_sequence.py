"""The confidence-sequence plot of a sequential verdict: recomputed from the records, read at the
looks, drawn as a band that narrows, with the decision marked."""

from __future__ import annotations

import dataclasses
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from crystallize import BettingTest, Hypothesis, Result, SequentialTTest
from crystallize.core.display import format_e_value
from crystallize.report.html import render_report
from crystallize.report.sequence import confidence_sequence, sequence_plot
from crystallize.stats import t_confidence_sequence

from ..sequential_runs import run_sequential

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def decided() -> Result:
    """better accepted at 20, same futile at 35 (min_effect 0.3), looks every 5 from 5 to 35."""
    return run_sequential()


@pytest.fixture(scope="module")
def margins() -> Result:
    """An equivalence claim (margin 0.5, min_effect 0.3) and a non-inferiority one (margin 0.4)."""
    return run_sequential([Hypothesis("x", SequentialTTest(), direction="equal", margin=0.5, min_effect=0.3, name="eq"),
                           Hypothesis("x", SequentialTTest(), direction="no_worse", margin=0.4,
                                      higher_is_better=True, name="nw")], treatments=["same"])


def _differences(result: Result, treatment: str) -> tuple[list[int], np.ndarray]:
    base = {r.replicate: r.metrics["x"] for r in result.records if r.condition == "baseline"}
    treat = {r.replicate: r.metrics["x"] for r in result.records if r.condition == treatment}
    replicates = sorted(set(base) & set(treat))
    return replicates, np.asarray([treat[r] - base[r] for r in replicates])


# -- the numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("treatment", ["better", "same"])
def test_the_sequence_is_recomputed_from_the_records_at_each_look(decided, treatment):
    v = decided.get_hypothesis("x", treatment)
    cs = confidence_sequence(decided, v)
    assert cs is not None
    assert cs.replicates == tuple(look["replicates"] for look in decided.looks) == (5, 10, 15, 20, 25, 30, 35)
    replicates, d = _differences(decided, treatment)
    low, high = t_confidence_sequence(d, alpha=0.05, prior_scale=0.5)
    for i, n in enumerate(cs.replicates):
        pairs = sum(r < n for r in replicates)
        assert cs.pairs[i] == pairs
        assert cs.estimate[i] == pytest.approx(float(np.mean(d[:pairs])))
        assert (cs.low[i], cs.high[i]) == (low[pairs - 1], high[pairs - 1])
    assert (cs.low[-1], cs.high[-1]) == pytest.approx(v.ci, rel=1e-12)  # the verdict's own interval
    assert all(np.diff(cs.low) >= 0) and all(np.diff(cs.high) <= 0)  # it only narrows
    assert cs.level == 0.95 and cs.decided_at == v.decided_at and cs.status == v.label
    assert cs.log_e[-1] == v.e_value
    assert cs.min_effect == (0.3,) and cs.futility_level == pytest.approx(0.9)
    futile_low, futile_high = t_confidence_sequence(d, alpha=0.10, prior_scale=0.5)
    assert cs.futility[-1] == (futile_high[cs.pairs[-1] - 1],)  # the end facing min_effect
    if treatment == "same":  # futile: the 90% sequence's upper end fell below min_effect at that look
        assert cs.futility[-1][0] < 0.3 <= cs.futility[-2][0]


def test_margins_and_min_effect_on_both_sides_for_equivalence(margins):
    eq, nw = (confidence_sequence(margins, v) for v in margins.hypotheses)
    assert eq is not None and nw is not None
    assert eq.margins == (-0.5, 0.5) and eq.min_effect == (-0.3, 0.3) and len(eq.futility[-1]) == 2
    assert nw.margins == (-0.4,) and nw.min_effect == () and nw.futility == ()


def test_a_prior_scale_other_than_the_default_is_read_from_the_definition():
    result = run_sequential([Hypothesis("x", SequentialTTest(prior_scale=1.3), direction="increase")])
    v = result.get_hypothesis("x", "better")
    cs = confidence_sequence(result, v)
    assert cs is not None and (cs.low[-1], cs.high[-1]) == pytest.approx(v.ci, rel=1e-12)


def test_nothing_is_drawn_when_the_records_do_not_give_the_verdicts_interval(decided):
    definition = dict(decided.provenance["definition"])
    definition["hypotheses"] = [dict(h, test_params={**h["test_params"], "prior_scale": 3.0},
                                     test_repr="SequentialTTest(prior_scale=3.0, alternative='two-sided')")
                                for h in definition["hypotheses"]]
    altered = dataclasses.replace(decided, provenance={**decided.provenance, "definition": definition})
    assert confidence_sequence(altered, altered.hypotheses[0]) is None
    assert 'class="plot sequence"' not in render_report(altered)
    assert 'class="plot sequence"' in render_report(decided)


def test_no_sequence_plot_for_a_fixed_design_or_a_betting_test(small_result):
    assert 'class="plot sequence"' not in render_report(small_result)
    assert all(confidence_sequence(small_result, v) is None for v in small_result.hypotheses)
    betting = run_sequential([Hypothesis("x", BettingTest(mode="win_rate"), direction="increase")])
    assert betting.hypotheses[0].sequential is not None
    assert all(confidence_sequence(betting, v) is None for v in betting.hypotheses)


# -- the plot -------------------------------------------------------------------------------------


def _lines(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}line") if cls in (e.get("class") or "").split()]


def _path_points(element: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", element.get("d", ""))]


def test_the_plot_draws_the_band_the_estimate_zero_min_effect_and_the_decision(decided):
    v = decided.get_hypothesis("x", "better")
    cs = confidence_sequence(decided, v)
    root = ET.fromstring(sequence_plot(cs, "x"))
    width, height = (float(n) for n in root.get("viewBox").split()[2:])
    points = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "cs-point"]
    assert len(points) == len(decided.looks)
    xs = [float(c.get("cx")) for c in points]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)  # one point per look, left to right
    assert points[-1].findtext(f"{SVG}title") == (
        f"35 replicates (35 pairs): difference {cs.estimate[-1]:.4g}, 95% CS "
        f"[{cs.low[-1]:.4g}, {cs.high[-1]:.4g}], E = {format_e_value(v.e_value)}")
    # the band: the upper edge left to right, then the lower edge back; it narrows
    band = next(p for p in root.iter(f"{SVG}path") if p.get("class") == "band")
    outline = _path_points(band)
    upper, lower = outline[:len(xs)], outline[len(xs):][::-1]
    heights = [lo[1] - up[1] for up, lo in zip(upper, lower)]
    assert all(h >= 0 for h in heights) and heights == sorted(heights, reverse=True) and heights[-1] < heights[0]
    # every coordinate inside the picture, also where the first looks' intervals are unbounded
    assert not math.isfinite(cs.high[0])
    for x, y in outline:
        assert 0 <= x <= width and 0 <= y <= height
    # zero below min_effect (0.3) and both inside the plot; points on the estimate's side
    zero, = _lines(root, "zero")
    minimum, = _lines(root, "min-effect")
    assert float(minimum.get("y1")) < float(zero.get("y1"))
    # the decision: a vertical line through the look at 20 replicates, in the verdict's colour
    decision, = _lines(root, "decision")
    assert decision.get("class") == "decision accepted"
    assert float(decision.get("x1")) == float(decision.get("x2")) == xs[cs.replicates.index(20)]
    marker = next(c for c in root.iter(f"{SVG}circle") if (c.get("class") or "").startswith("decision-point"))
    assert float(marker.get("cx")) == xs[3] and float(marker.get("cy")) == float(points[3].get("cy"))
    assert "decided at 20" in [t.text for t in root.iter(f"{SVG}text")]
    assert [p for p in root.iter(f"{SVG}path") if p.get("class") == "futility"]


def test_the_plot_draws_the_margins_and_both_min_effect_lines_of_an_equivalence_claim(margins):
    eq = margins.get_hypothesis("eq", "same")
    root = ET.fromstring(sequence_plot(confidence_sequence(margins, eq), "x"))
    zero_y = float(_lines(root, "zero")[0].get("y1"))
    margin_ys = sorted(float(e.get("y1")) for e in _lines(root, "margin"))
    effect_ys = sorted(float(e.get("y1")) for e in _lines(root, "min-effect"))
    assert len(margin_ys) == 2 and len(effect_ys) == 2
    assert margin_ys[0] < effect_ys[0] < zero_y < effect_ys[1] < margin_ys[1]  # +0.5, +0.3, 0, -0.3, -0.5
    assert zero_y - effect_ys[0] == pytest.approx(effect_ys[1] - zero_y, abs=0.02)
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "futility"]) == 2


def test_a_single_look_is_drawn_as_one_interval():
    result = run_sequential([Hypothesis("x", SequentialTTest(), direction="increase")], max_replicates=5)
    assert len(result.looks) == 1
    cs = confidence_sequence(result, result.hypotheses[0])
    root = ET.fromstring(sequence_plot(cs, "x"))
    assert not [p for p in root.iter(f"{SVG}path") if p.get("class") == "band"]
    assert len(_lines(root, "band-edge")) == 1 and len([c for c in root.iter(f"{SVG}circle")
                                                        if c.get("class") == "cs-point"]) == 1


# -- in the report --------------------------------------------------------------------------------


def test_the_report_has_one_sequence_plot_per_verdict_with_its_caption_and_the_stop_line(decided):
    page = render_report(decided)
    assert page.count('class="plot sequence"') == 2
    assert "sequential: stopped at 35 of at most 60 replicates: every hypothesis decided (1 of 2 futile)" in page
    assert "replicates 60" not in page
    assert page.count("the band is the 95% confidence sequence of the mean paired difference at each of the "
                      "7 looks") == 2
    assert "covers the true difference at every look at once with probability at least 95%" in page
    assert "vertical line: the decision (20 replicates, accepted)" in page
    assert "vertical line: the decision (35 replicates, no effect &gt;= min_effect)" in page
    better = decided.get_hypothesis("x", "better")
    assert (f'<small class="evidence">E = {format_e_value(better.e_value)}</small>'
            '<small class="evidence">decided at 20</small>') in page
    assert 'class="badge no-effect-min-effect"' in page


def test_user_strings_in_the_plot_and_caption_are_escaped():
    from ..sequential_runs import sequential_tables

    table = sequential_tables()
    table["<b>new</b> & co"] = table.pop("better")
    result = run_sequential([Hypothesis("x", SequentialTTest(), direction="increase", name="<i>lift</i>")],
                            treatments=["<b>new</b> & co"], table=table)
    page = render_report(result)
    assert page.count('class="plot sequence"') == 1
    assert "<b>new</b>" not in page and "<i>lift</i>" not in page
    assert "&lt;b&gt;new&lt;/b&gt; &amp; co − baseline (<em>&lt;i&gt;lift&lt;/i&gt;</em>)" in page
    svg = re.search(r'<svg [^>]*class="plot sequence".*?</svg>', page, re.S)
    assert svg is not None
    root = ET.fromstring(svg.group(0))
    assert root.get("aria-label") == "x: 95% confidence sequence of <b>new</b> & co − baseline (<i>lift</i>)"
