"""The printed summary tells the truth about each verdict: its own estimate, each interval's
level and kind, p-values never rounded across alpha, percentages only where they mean something."""

from __future__ import annotations

import re

import numpy as np
import pytest

from crystallize import Hypothesis, Result
from crystallize.core.display import format_number, format_p, level_text
from crystallize.core.stat_test import PairedTTest, WelchTTest, WilcoxonSignedRank
from crystallize.core.summary import summary_text

from ..verdict_runs import crafted_result, relative_margin_result, run_fixed, wide_result


def verdict_lines(text: str) -> str:
    return text[text.index("Verdicts"):]


# -- p-values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("p", "alpha", "shown"), [
    (0.04996, 0.05, "0.04996"), (0.05004, 0.05, "0.05004"), (0.0512, 0.05, "0.0512"), (0.05, 0.05, "0.05"),
    (0.0499999999, 0.05, "0.0499999999"), (0.0123, 0.05, "0.0123"), (0.00999, 0.01, "0.00999"),
    (0.0099999, 0.01, "0.0099999"), (2.5e-7, 0.05, "2.50e-07"), (1.0, 0.05, "1"), (None, 0.05, "—"),
])
def test_a_p_value_is_never_rounded_across_alpha(p, alpha, shown):
    assert format_p(p, alpha) == shown
    if p is not None:
        assert (float(shown) < alpha) == (p < alpha) and (float(shown) == alpha) == (p == alpha)


def test_the_summary_tells_0_04996_from_0_05004():
    # both printed "0.05" before, one accepted and one not
    result = crafted_result(0.04996, 0.05004)
    text = verdict_lines(summary_text(result, color=False))
    rows = text[:text.index("└")]
    assert rows.count("0.04996") == 2 and rows.count("0.05004") == 2
    assert not re.search(r"0\.05(?!\d)", rows)


# -- the test's own estimate ----------------------------------------------------------------------


def test_a_rank_test_shows_its_own_estimate_not_the_mean_difference():
    # issue 11.1's recipe: the treatment is typically 0.8 lower, but 4 of 40 values diverge to 60
    b = np.random.default_rng(12345).normal(0.0, 1.0, 40)
    t = b - 0.8
    t[:4] = 60.0
    result = run_fixed(b, t, [Hypothesis("x", WilcoxonSignedRank(), direction="decrease")])
    verdict = result.hypotheses[0]
    assert verdict.estimand == "pseudo_median" and verdict.estimate == pytest.approx(-0.8)
    assert verdict.mean_difference > 5
    text = verdict_lines(summary_text(result, color=False, width=160))
    assert "pseudo-median" in text and "-0.8" in text
    assert f"+{verdict.mean_difference:.3g}" not in text  # the mean difference is not "the difference"


def test_a_relative_margin_shows_its_estimate_and_interval_in_percent():
    result = relative_margin_result()
    verdict = result.hypotheses[0]
    assert verdict.estimand == "relative_difference"
    low, high = verdict.ci
    text = verdict_lines(summary_text(result, color=False, width=160))
    assert f"{verdict.estimate * 100:+.3g}%" in text
    assert f"[{low * 100:+.3g}%, {high * 100:+.3g}%]" in text
    assert "relative" in text and "90% CI" in text


def test_no_percentage_against_a_baseline_mean_indistinguishable_from_0():
    # baseline mean 0.05 with sd 0.3 over 10 replicates: within two standard errors of 0
    rng = np.random.default_rng(4)
    b = rng.normal(0.0, 0.3, 10)
    b = b - b.mean() + 0.05
    t = b + 0.25
    result = run_fixed(b, t, [Hypothesis("x", PairedTTest(), direction="increase")])
    verdict = result.hypotheses[0]
    assert verdict.relative_difference is None
    text = verdict_lines(summary_text(result, color=False, width=160))
    assert "%" not in text.split("\n")[3] + text.split("\n")[4]  # the verdict row: "+0.25" without "(+500%)"
    assert "+0.25" in text


# -- intervals: their level and their kind ----------------------------------------------------------


def _two_hypotheses(**options) -> Result:
    rng = np.random.default_rng(7)
    b = rng.normal(5.0, 1.0, 10)
    t = b + rng.normal(0.02, 0.1, 10)
    return run_fixed(b, t, [Hypothesis("x", WelchTTest(), name="any"),
                            Hypothesis("x", direction="equal", margin=0.3, name="same"),
                            Hypothesis("x", PairedTTest(alternative="greater"), name="up")], **options)


def test_every_interval_carries_its_true_level_and_why():
    result = _two_hypotheses()
    levels = {v.hypothesis: v.ci_level for v in result.hypotheses}
    assert levels == {"any": 0.95, "same": pytest.approx(0.90), "up": pytest.approx(0.90)}
    text = summary_text(result, color=False, width=160)
    rows = verdict_lines(text)
    for v in result.hypotheses:
        low, high = v.ci
        assert f"[{low:.3g}, {high:.3g}]" in rows
    assert rows.count("95% CI") >= 2 and rows.count("90% CI") >= 3
    assert ("90% CI: equivalence, non-inferiority and one-sided tests at alpha = 0.05 (1 - 2 alpha): its end on "
            "the tested side (both ends for equivalence) is the one-sided 95% bound that the decision uses.") \
        in " ".join(text.split())
    assert "95% CI: two-sided tests at alpha = 0.05 (1 - alpha)." in text
    assert ("Intervals are per comparison: not adjusted for the 3 comparisons, although the verdicts follow "
            "Holm-adjusted p-values") in " ".join(text.split())


def test_simultaneous_intervals_are_labelled_as_such():
    result = _two_hypotheses(intervals="simultaneous")
    assert all(v.ci_simultaneous for v in result.hypotheses)
    text = " ".join(summary_text(result, color=False, width=160).split())
    assert level_text(1 - 0.05 / 3) == "98.33%" and "98.33% CI" in text  # two-sided: 1 - alpha/k
    assert "96.67% CI" in text  # one-sided decisions: 1 - 2 alpha/k
    assert "Simultaneous intervals (Bonferroni) over the 3 comparisons" in text
    assert "per comparison" not in text


def test_no_exact_interval_shows_a_dash():
    b = np.arange(5.0)
    result = run_fixed(b, b + np.array([0.3, 0.5, 0.2, 0.4, 0.6]), [Hypothesis("x", WilcoxonSignedRank())])
    assert result.hypotheses[0].ci is None
    text = summary_text(result, color=False, width=160)
    assert "— as interval: the test gave none (an exact rank interval does not exist" in " ".join(text.split())


# -- layout and scale -----------------------------------------------------------------------------


def test_huge_metrics_print():
    # values near 1e160: squaring them overflowed in the summary's sd (OverflowError)
    rng = np.random.default_rng(1)
    b = rng.normal(1.0, 0.1, 6) * 1e160
    result = run_fixed(b, b * 1.5, [Hypothesis("x", WelchTTest())])
    text = str(result)
    assert "1.0" in text and "e+160" in text and "± " in text


@pytest.mark.parametrize("width", [60, 80, 100, 120, 140])
def test_numbers_and_labels_never_break_across_lines(width):
    result = _two_hypotheses()
    text = summary_text(result, color=False, width=width)
    lines = text.split("\n")
    assert max(len(line) for line in lines) <= width
    for v in result.hypotheses:
        low, high = v.ci
        for piece in (f"[{low:.3g}, {high:.3g}]", format_p(v.p_value, v.alpha), v.label):
            assert any(piece in line for line in lines), (width, piece)
    for condition in ("baseline", "treated"):
        values = [x for x in result.metrics[condition]["x"]]
        shown = f"{format_number(float(np.mean(values)))} ± {format_number(float(np.std(values, ddof=1)), 3)} (n=10)"
        assert any(shown in line for line in lines), (width, shown)


def test_a_wide_experiment_is_summarised():
    result = wide_result(60)
    text = summary_text(result, color=False, width=160)
    assert "t18 " in text and "t19 " not in text.split("Verdicts")[0]  # baseline and 19 treatments
    assert "… 41 more conditions not shown: result.metrics" in text
    labels = {v.label for v in result.hypotheses[30:]}
    assert f"… 30 more verdicts ({30 if len(labels) == 1 else ''}" in text
    assert "result.hypotheses or the HTML report" in text
    assert len(text) < 20_000
