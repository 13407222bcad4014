"""assert_accepted / assert_not_worse on real experiment results."""

from __future__ import annotations

import warnings

import pytest

from crystallize import Hypothesis
from crystallize.core.display import format_p
from crystallize.core.exceptions import CrystallizeError
from crystallize.core.stat_test import PairedTTest
from crystallize.testing import VerdictSelectionError, assert_accepted, assert_not_worse, select_verdict
from tests.testing.experiments import build_experiment


@pytest.fixture(scope="module")
def result():
    hypotheses = [Hypothesis("accuracy", PairedTTest(), direction="increase"),
                  Hypothesis("latency", PairedTTest(), direction="no_worse", margin=0.2, higher_is_better=False,
                             name="fast_enough"),
                  Hypothesis("accuracy", PairedTTest(), direction="equal", margin=0.01, name="same_accuracy")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_experiment(hypotheses=hypotheses).run(store=False, progress=False)


def test_accepted_verdict_passes_and_is_returned(result):
    verdict = assert_accepted(result, "accuracy", treatment="new_model")
    assert verdict.treatment == "new_model" and verdict.accepted


def test_failure_message_is_the_verdict_line(result):
    with pytest.raises(AssertionError) as caught:
        assert_accepted(result, "accuracy", treatment="worse_model")
    verdict = select_verdict(result, "accuracy", treatment="worse_model")
    message = str(caught.value)
    first, level, *rest = message.splitlines()[1:]
    assert message.startswith("expected accepted, got opposite direction:")
    assert first.startswith("accuracy (increase) / worse_model: opposite direction · difference -0.0")
    low, high = verdict.ci
    assert f"[{low:.3g}, {high:.3g}] 95% CI" in first
    assert f"p = {format_p(verdict.p_value, 0.05)}" in first and f"p adj. = {format_p(verdict.p_value_adjusted, 0.05)}" in first
    assert "paired_t, alpha = 0.05, n = 8 vs 8" in first
    assert level.startswith("95% CI: two-sided tests at alpha = 0.05")
    assert any(line.startswith("note: the mean difference") and "against the hypothesised direction" in line
               for line in rest)


def test_not_worse_on_a_directional_hypothesis(result):
    assert_not_worse(result, "accuracy", treatment="new_model")
    with pytest.raises(AssertionError, match="expected not worse, got significantly worse:\naccuracy .increase. / worse_model"):
        assert_not_worse(result, "accuracy", treatment="worse_model")


def test_not_worse_on_a_noninferiority_hypothesis_needs_it_accepted(result):
    assert_not_worse(result, "fast_enough", treatment="new_model")
    with pytest.raises(AssertionError) as caught:
        assert_not_worse(result, "fast_enough", treatment="worse_model")
    assert "fast_enough (no_worse) / worse_model: not accepted" in str(caught.value)
    assert "90% CI" in str(caught.value)


def test_not_worse_without_a_better_direction_is_a_usage_error(result):
    with pytest.raises(ValueError, match="'same_accuracy' states no better direction"):
        assert_not_worse(result, "same_accuracy", treatment="new_model")


def test_selection_by_metric_name_and_errors_listing_the_choices(result):
    # "latency" is the metric of the hypothesis named "fast_enough"
    assert select_verdict(result, "latency", treatment="new_model").hypothesis == "fast_enough"
    with pytest.raises(VerdictSelectionError) as caught:
        assert_accepted(result, "loss")
    message = str(caught.value)
    assert message.startswith("no verdict for hypothesis or metric 'loss'; available: ")
    assert "'fast_enough' (metric 'latency') / 'worse_model'" in message
    assert isinstance(caught.value, CrystallizeError)
    with pytest.raises(VerdictSelectionError, match=r"^2 verdicts match hypothesis or metric 'accuracy': .*; pass treatment="):
        assert_accepted(result, "accuracy")
    with pytest.raises(VerdictSelectionError, match="no verdict for hypothesis or metric 'accuracy' and treatment 'old'"):
        assert_accepted(result, "accuracy", treatment="old")


def test_not_a_result_is_a_type_error():
    with pytest.raises(TypeError, match="expected a crystallize Result .* got dict"):
        assert_accepted({}, "accuracy")
