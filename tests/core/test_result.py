from __future__ import annotations

import json

import numpy as np

import pytest
from scipy import stats

from crystallize import Hypothesis, Result, Treatment
from crystallize.core.stat_test import PairedTTest, WelchTTest

from .conftest import make_experiment


@pytest.fixture(scope="module")
def result() -> Result:
    exp = make_experiment(
        replicates=8, seed=3,
        treatments=[Treatment("shifted", {"shift": 1.0}), Treatment("same", {"shift": 0.0})],
        hypotheses=[Hypothesis("score", PairedTTest(), direction="increase"),
                    Hypothesis("score", WelchTTest(), name="score_welch")],
    )
    return exp.run(store=False)


def test_metrics_shape_and_primary_verdict(result):
    assert set(result.metrics) == {"baseline", "shifted", "same", "hypothesis"}
    assert len(result.metrics["baseline"]["score"]) == 8
    assert result.metrics["baseline"]["label"] == ["x"] * 8
    primary = result.metrics["hypothesis"]
    assert primary["hypothesis"] == "score" and primary["treatment"] == "shifted"


def test_typed_verdicts_for_every_pair(result):
    assert [(v.hypothesis, v.treatment) for v in result.hypotheses] == [
        ("score", "shifted"), ("score", "same"), ("score_welch", "shifted"), ("score_welch", "same")]
    verdict = result.get_hypothesis("score", treatment="shifted")
    base, treat = result.metrics["baseline"]["score"], result.metrics["shifted"]["score"]
    # the shift is 1.0 in every replicate, up to rounding: zero variance, so the exact sign-flip p,
    # scipy.stats.permutation_test((treat, base), mean difference, permutation_type="samples")
    ref = stats.permutation_test((np.array(treat), np.array(base)), lambda x, y, axis: np.mean(x - y, axis=axis),
                                 permutation_type="samples", n_resamples=np.inf)
    assert verdict.p_value == pytest.approx(ref.pvalue, rel=1e-12) == 2 / 2**8
    assert verdict.n_pairs == 8 and verdict.accepted
    assert result.get_hypothesis("score_welch").treatment == "shifted"
    with pytest.raises(KeyError, match="did you mean 'score_welch'"):
        result.get_hypothesis("score_welsh")
    with pytest.raises(KeyError, match="no verdict for treatment 'nope'"):
        result.get_hypothesis("score", treatment="nope")


def test_p_values_are_adjusted_with_holm_by_default(result):
    raw = [v.p_value for v in result.hypotheses]
    # reference: statsmodels.stats.multitest.multipletests(raw, method="holm")[1]
    from statsmodels.stats.multitest import multipletests

    expected = multipletests(raw, method="holm")[1]
    assert [v.p_value_adjusted for v in result.hypotheses] == pytest.approx(list(expected), rel=1e-12)
    assert all(v.correction == "holm" for v in result.hypotheses)
    assert all(v.significant == (v.p_value_adjusted < v.alpha) for v in result.hypotheses)


def test_tidy_dataframe(result):
    df = result.to_dataframe()
    assert list(df.columns) == ["condition", "replicate", "seed", "metric", "value", "status"]
    assert set(df.status) == {"ok"}
    assert len(df) == 3 * 8 * 2
    base = df[(df.condition == "baseline") & (df.metric == "score")]
    assert list(base.value) == result.metrics["baseline"]["score"]
    assert list(base.replicate) == list(range(8))


def test_json_round_trips(result, tmp_path):
    path = tmp_path / "result.json"
    result.to_json(path)
    text = path.read_text(encoding="utf-8")
    again = Result.from_json(path)
    assert again.metrics == json.loads(json.dumps(result.metrics, default=repr))
    assert again.hypotheses == result.hypotheses
    assert again.records == Result.from_json(text).records
    assert again.provenance == json.loads(text)["provenance"]


def test_to_json_returns_text_only_without_a_path(result, tmp_path):
    # as pandas' writers: the text without a path, nothing when it writes a file
    text = result.to_json()
    assert isinstance(text, str) and json.loads(text)["name"] == result.name
    path = tmp_path / "out.json"
    assert result.to_json(path) is None
    assert result.to_json(str(tmp_path / "out2.json")) is None
    assert path.read_text(encoding="utf-8") == text == (tmp_path / "out2.json").read_text(encoding="utf-8")


def test_summary_is_readable_text(result):
    text = str(result)
    assert "baseline" in text and "shifted" in text and "score" in text
    assert "accepted" in text and "±" in text
    assert "\x1b[" not in text  # no colour codes when not a terminal


def test_power_analysis_against_statsmodels(result):
    import math

    from statsmodels.stats.power import TTestIndPower, TTestPower

    rows = result.power_analysis(effect_size=0.8, power=0.8)
    paired_row, welch_row = rows[0], rows[2]
    # 4 comparisons in the family (Holm): alpha 0.05 / 4; "increase" by a two-sided paired t is
    # accepted only in the upper tail, at alpha / 2:
    # ceil(TTestPower().solve_power(effect_size=0.8, alpha=0.05 / 8, power=0.8, alternative="larger"))
    expected = math.ceil(TTestPower().solve_power(effect_size=0.8, alpha=0.05 / 8, power=0.8, alternative="larger"))
    assert paired_row["alpha"] == 0.05 / 4
    assert paired_row["replicates_required"] == expected
    assert paired_row["replicates_used"] == 8
    # the Welch hypothesis states no direction: both tails at 0.0125
    # ceil(TTestIndPower().solve_power(effect_size=0.8, alpha=0.0125, power=0.8, alternative="two-sided"))
    assert welch_row["replicates_required"] == math.ceil(
        TTestIndPower().solve_power(effect_size=0.8, alpha=0.05 / 4, power=0.8, alternative="two-sided"))
    with pytest.raises(ValueError, match="needs the effect you want to detect"):
        result.power_analysis()  # never the observed effect ("post-hoc power")
