"""The report shows each verdict's own numbers: its estimate and interval at its own level, its
margins, p-values never rounded across alpha; large and wide experiments stay readable."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from crystallize import Hypothesis
from crystallize.core.stat_test import PairedTTest, WelchTTest

from ..verdict_runs import crafted_result, relative_margin_result, run_fixed, wide_result
from crystallize.report.html import MAX_PLOTTED, render_report
from crystallize.report.plots import LINE_LIMIT, POINT_LIMIT


def forest_tips(page: str, metric: str) -> list[str]:
    """The hover texts of the rows of ``metric``'s difference-from-baseline plot(s)."""
    section = page[page.index(f"<h2>{metric}</h2>"):]
    section = section[:section.index("</section>")]
    plots = re.findall(r'<svg[^>]*class="plot forest".*?</svg>', section, flags=re.S)
    return [tip for plot in plots for tip in re.findall(r'<circle[^>]*class="hit"[^>]*><title>(.*?)</title>', plot)]


def bounds(tip: str) -> tuple[float, float]:
    low, high = re.search(r"\[([^,\]]+), ([^\]]+)\]", tip).groups()  # type: ignore[union-attr]
    return float(low), float(high)


def test_the_forest_plot_draws_the_verdicts_own_interval_at_its_own_level():
    # issue 11.12: a Welch verdict at alpha 0.1 had (-1.03, 1.55) while the plot drew a paired 95% interval
    rng = np.random.default_rng(11)
    b = rng.normal(0.0, 1.0, 8)
    t = b + 0.26 + rng.normal(0.0, 0.3, 8)
    result = run_fixed(b, t, [Hypothesis("x", WelchTTest(), alpha=0.1)])
    verdict = result.hypotheses[0]
    assert verdict.ci_level == pytest.approx(0.9)
    page = render_report(result)
    (tip,) = forest_tips(page, "x")
    assert bounds(tip) == pytest.approx(verdict.ci, rel=1e-5)
    assert "90% CI" in tip
    caption = page[page.index("<strong>Difference from baseline</strong>"):]
    assert "mean difference, 90% CI (per comparison)" in caption[:caption.index("</figcaption>")]


def test_equivalence_and_non_inferiority_draw_their_margins_and_their_90_percent_intervals():
    rng = np.random.default_rng(3)
    b = rng.normal(10.0, 1.0, 10)
    t = b + rng.normal(0.05, 0.1, 10)
    result = run_fixed(b, t, [Hypothesis("x", direction="equal", margin=0.3, name="same"),
                              Hypothesis("x", direction="no_worse", margin=0.2, higher_is_better=False,
                                         name="not_slower")])
    page = render_report(result)
    section = page[page.index("<h2>x</h2>"):]
    plot = re.search(r'<svg[^>]*class="plot forest".*?</svg>', section, flags=re.S).group(0)  # type: ignore[union-attr]
    margins = re.findall(r'<line x1="([\d.]+)"[^>]*class="margin"', plot)
    assert len(margins) == 3  # -0.3 and +0.3 for the equivalence, +0.2 (lower is better) for non-inferiority
    tips = forest_tips(page, "x")
    for verdict, tip in zip(result.hypotheses, tips):
        assert verdict.ci_level == pytest.approx(0.9) and "90% CI" in tip
        assert bounds(tip) == pytest.approx(verdict.ci, rel=1e-5)
    caption = section[section.index("<figcaption><strong>Difference"):]
    caption = caption[:caption.index("</figcaption>")]
    assert "margin ±0.3" in caption and "margin 0.2" in caption and "Dotted lines: the margins" in caption


def test_a_relative_margin_is_drawn_on_a_percent_axis():
    result = relative_margin_result()
    verdict = result.hypotheses[0]
    page = render_report(result)
    assert "<strong>Relative difference from baseline</strong>" in page
    assert "margin 5% of the baseline mean" in page
    (tip,) = forest_tips(page, "x")
    low, high = verdict.ci
    assert f"[{low * 100:+.6g}%, {high * 100:+.6g}%]" in tip
    plot = page[page.index("<strong>Relative difference from baseline</strong>"):]
    plot = plot[:plot.index("</svg>")]
    assert {"-4%", "0%", "2%"} <= set(re.findall(r'class="tick"[^>]*>([^<]*)<', plot))
    assert plot.count('class="margin"') == 1


def test_a_metric_without_a_hypothesis_keeps_a_descriptive_plot_labelled_as_such():
    rng = np.random.default_rng(5)
    b = rng.normal(0.0, 1.0, 6)
    result = run_fixed(b, b + 1.0, [Hypothesis("x", PairedTTest())])
    page = render_report(result)
    section = page[page.index("<h2>y</h2>"):]
    assert "descriptive, not a test (no hypothesis names this metric); 95% t intervals" in section


def test_the_verdict_table_never_rounds_a_p_value_across_alpha():
    # four digits printed 0.049996 (accepted) and 0.050004 (not) both as "0.05"
    result = crafted_result(0.049996, 0.050004)
    page = render_report(result)
    table = page[page.index('<table class="verdicts'):page.index("</table>")]
    assert table.count(">0.049996<") == 2 and table.count(">0.050004<") == 2
    assert ">0.05<" not in table


def test_no_percentage_of_a_baseline_mean_indistinguishable_from_0():
    # the report printed "+1825%" for a baseline of 0.017
    rng = np.random.default_rng(8)
    b = rng.normal(0.0, 0.2, 12)
    b = b - b.mean() + 0.017
    result = run_fixed(b, b + 0.31, [Hypothesis("x", PairedTTest(), direction="increase")])
    assert result.hypotheses[0].relative_difference is None
    page = render_report(result)
    (difference,) = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r'data-label="difference">(.*?)</td>', page)]
    assert difference == "+0.31"  # not "+0.31 (+1824%)"


def test_the_verdict_table_labels_every_interval_and_explains_it():
    rng = np.random.default_rng(9)
    b = rng.normal(5.0, 1.0, 10)
    result = run_fixed(b, b + rng.normal(0.0, 0.1, 10),
                       [Hypothesis("x", WelchTTest()), Hypothesis("x", direction="equal", margin=0.3, name="eq")])
    page = render_report(result)
    table = page[page.index('<table class="verdicts'):page.index("</table>")]
    assert "<small>95% CI</small>" in table and "<small>90% CI</small>" in table
    legend = page[page.index('<ul class="meta legend">'):]
    legend = legend[:legend.index("</ul>")]
    assert "one-sided 95% bound that the decision uses" in legend
    assert "Intervals are per comparison: not adjusted for the 2 comparisons" in legend


def test_large_samples_are_drawn_as_a_distribution():
    # a point per sample made a 100,000-run report 54 MB
    n = 3000
    rng = np.random.default_rng(1)
    b = rng.normal(0.0, 1.0, n)
    result = run_fixed(b, b + rng.normal(0.1, 0.5, n), [Hypothesis("x", PairedTTest())])
    page = render_report(result)
    section = page[page.index("<h2>x</h2>"):]
    section = section[:section.index("</section>")]
    assert 'class="point"' not in section and section.count('class="density"') == 2
    assert f"points are drawn up to {POINT_LIMIT:,} samples" in section
    assert section.count('class="pair"') == LINE_LIMIT
    assert f"{LINE_LIMIT} of the {n:,} replicates" in section
    assert len(page) < 400_000


def test_a_wide_experiment_lists_the_first_conditions_and_says_how_many_more():
    result = wide_result(40)
    page = render_report(result)
    section = page[page.index("<h2>x</h2>"):]
    section = section[:section.index("</section>")]
    assert f"The first {MAX_PLOTTED} of 41 conditions are drawn and listed" in section
    assert len(forest_tips(page, "x")) == MAX_PLOTTED - 1
    assert "or 32 more treatments" in page


def test_huge_values_are_summarised_without_overflow():
    rng = np.random.default_rng(1)
    b = rng.normal(1.0, 0.1, 6) * 1e160
    result = run_fixed(b, b * 1.5, [Hypothesis("x", WelchTTest())])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        page = render_report(result)
    summary = page[page.index("<h3>Summary of x</h3>"):]
    cells = re.findall(r'data-label="sd">([^<]*)<', summary[:summary.index("</table>")])
    expected = float(np.std(b / 1e160, ddof=1))
    assert float(cells[0]) == pytest.approx(expected * 1e160, rel=1e-3)
    assert "inf" not in summary[:summary.index("</table>")]


def test_captions_state_the_level_of_simultaneous_and_one_sided_intervals():
    rng = np.random.default_rng(5)
    b = rng.normal(10.0, 1.0, 12)
    t = b + 0.4 + rng.normal(0.0, 0.3, 12)
    result = run_fixed(b, t, [Hypothesis("x", PairedTTest(), direction="increase", name="up"),
                              Hypothesis("x", PairedTTest(), direction="no_worse", margin=0.2, higher_is_better=True,
                                         name="not_worse"),
                              Hypothesis("y", PairedTTest(), name="y_changes")],
                       intervals="simultaneous")
    levels = {v.hypothesis: v.ci_level for v in result.hypotheses}
    assert levels["up"] == pytest.approx(1 - 0.05 / 3) and levels["not_worse"] == pytest.approx(1 - 2 * 0.05 / 3)
    page = render_report(result)
    caption = page[page.index("<figcaption><strong>Difference"):]
    caption = caption[:caption.index("</figcaption>")]
    assert "<em>up</em> (paired_t): mean difference, 98.33% CI (simultaneous over 3 comparisons)" in caption
    assert ("96.67% CI (simultaneous over 3 comparisons), whose lower end is the one-sided 98.33% bound the "
            "decision uses") in caption


def test_a_non_inferiority_margin_is_drawn_from_higher_is_better_when_the_test_did_not_say_its_side():
    import dataclasses

    from crystallize.core.display import margin_bounds as margins
    from crystallize.report.forest import verdict_rows

    verdict = relative_margin_result().hypotheses[0]
    bare = dataclasses.replace(verdict, details={}, margin_relative=False, estimand=None)  # e.g. a user's test
    assert margins(bare) == (-0.05,)  # higher is better: losing more than the margin is worse
    assert verdict_rows([bare])[0].margins == (-0.05,)
    assert margins(dataclasses.replace(bare, higher_is_better=False)) == (0.05,)


def test_a_huge_parameter_is_cut_in_the_provenance_table():
    b = np.random.default_rng(2).normal(0.0, 1.0, 3000)
    page = render_report(run_fixed(b, b + 0.1, [Hypothesis("x", PairedTTest())]))
    code = page[page.index("<h3>Code</h3>"):]
    params = code[code.index('data-label="params">'):code.index("</td>", code.index('data-label="params">'))]
    assert params.endswith("characters in all: see the stored definition)")
    assert len(params) < 3_000  # not the 6,000 numbers of the data source's parameter (140 KB)
