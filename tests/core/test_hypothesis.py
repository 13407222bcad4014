from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from scipy import stats

from crystallize import Hypothesis, MissingMetricError, StatisticalTest
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.stat_test import PairedTTest, WelchTTest

BASE = [0.80, 0.82, 0.79, 0.81, 0.83, 0.80]
TREAT = [0.84, 0.85, 0.83, 0.86, 0.85, 0.84]


class MinimalTest(StatisticalTest):
    """A user's own test returning only the two required keys."""

    def run(self, baseline: Sequence[float], treatment: Sequence[float], *, alpha: float = 0.05) -> Mapping[str, Any]:
        p = stats.mannwhitneyu(treatment, baseline).pvalue
        return {"p_value": p, "significant": p < alpha}


def test_verify_with_a_user_test_returning_only_p_value_and_significant():
    out = Hypothesis("acc", MinimalTest(), direction="increase").verify({"acc": BASE}, {"acc": TREAT})
    # reference: scipy.stats.mannwhitneyu(TREAT, BASE).pvalue
    assert out["p_value"] == pytest.approx(stats.mannwhitneyu(TREAT, BASE).pvalue, rel=1e-12)
    assert out["significant"] is True and out["accepted"] is True
    assert out["effect_size"] is None and out["test"] == "MinimalTest"


def test_welch_verdict_matches_scipy():
    out = Hypothesis("acc", WelchTTest()).verify({"acc": BASE}, {"acc": TREAT})
    ref = stats.ttest_ind(TREAT, BASE, equal_var=False)
    assert out["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert out["statistic"] == pytest.approx(ref.statistic, rel=1e-9)
    assert out["mean_difference"] == pytest.approx(sum(TREAT) / 6 - sum(BASE) / 6)


def test_accepted_requires_the_observed_direction():
    h = Hypothesis("acc", WelchTTest(), direction="decrease")
    out = h.verify({"acc": BASE}, {"acc": TREAT})
    assert out["significant"] is True and out["accepted"] is False
    assert any("goes against" in n for n in out["notes"])
    assert Hypothesis("acc", WelchTTest(), direction=None).verify({"acc": BASE}, {"acc": TREAT})["accepted"]


def test_invalid_direction_lists_the_valid_ones():
    with pytest.raises(ValueError, match="direction='up' is not valid; use one of 'increase', 'decrease', 'equal', "
                                         "'no_worse', None"):
        Hypothesis("acc", WelchTTest(), direction="up")


def test_equal_without_margin_is_refused_with_the_reason():
    with pytest.raises(ExperimentDefinitionError, match="needs a positive margin.*not evidence of equivalence"):
        Hypothesis("acc", WelchTTest(), direction="equal")


def test_alpha_and_test_type_are_checked():
    with pytest.raises(ValueError, match="alpha=1.5"):
        Hypothesis("acc", WelchTTest(), alpha=1.5)
    with pytest.raises(ExperimentDefinitionError, match="must be a StatisticalTest instance"):
        Hypothesis("acc", WelchTTest)  # type: ignore[arg-type]


def test_missing_metric_names_metric_and_alternatives():
    with pytest.raises(MissingMetricError, match=r"metric 'accuracy' not found in condition 'treatment' "
                                                 r"\(did you mean 'accuracy_top1'\?\)"):
        Hypothesis("accuracy", WelchTTest()).verify({"accuracy": BASE}, {"accuracy_top1": TREAT})


def test_nan_samples_are_left_out_and_named():
    out = Hypothesis("acc", WelchTTest()).verify({"acc": BASE}, {"acc": [*TREAT[:-1], math.nan]})
    assert out["n_treatment"] == len(TREAT) - 1 and out["failed_treatment"] == 1
    assert any(f"treatment sample {len(TREAT) - 1}: nan" in n for n in out["notes"])
    # reference: scipy.stats.ttest_ind(TREAT[:-1], BASE, equal_var=False)
    assert out["p_value"] == pytest.approx(stats.ttest_ind(TREAT[:-1], BASE, equal_var=False).pvalue, rel=1e-9)


def test_non_numeric_metric_is_skipped_with_a_note():
    out = Hypothesis("tag", WelchTTest()).verify({"tag": ["a", "b"]}, {"tag": ["c", "d"]})
    assert out["status"] == "skipped" and "not numeric" in out["notes"][0] and out["p_value"] is None


def test_default_test_is_paired():
    h = Hypothesis("acc")
    assert isinstance(h.statistical_test, PairedTTest) and h.statistical_test.paired
    out = h.verify({"acc": BASE}, {"acc": TREAT})
    assert out["p_value"] == pytest.approx(stats.ttest_rel(TREAT, BASE).pvalue, rel=1e-9)
    assert out["n_pairs"] == 6


def test_constant_identical_samples_give_p_one():
    out = Hypothesis("acc", WelchTTest()).verify({"acc": [1.0] * 5}, {"acc": [1.0] * 5})
    assert out["p_value"] == 1.0 and out["significant"] is False
