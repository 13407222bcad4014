"""The test classes of crystallize.core.stat_test, which delegate to crystallize.stats."""

from __future__ import annotations

import pytest
from scipy import stats

from crystallize.core.stat_test import (
    TESTS_BY_NAME,
    MannWhitneyU,
    PairedTTest,
    PermutationTest,
    StatisticalTest,
    StudentTTest,
    WelchTTest,
    WilcoxonSignedRank,
    get_test,
)
from crystallize.stats import DegenerateDataWarning, permutation_test

B = [0.71, 0.74, 0.69, 0.73, 0.72, 0.70]
T = [0.75, 0.78, 0.72, 0.77, 0.74, 0.76]


def test_registry_names():
    assert {key: cls.__name__ for key, cls in TESTS_BY_NAME.items()} == dict(
        welch="WelchTTest", student="StudentTTest", paired_t="PairedTTest", sequential_t="SequentialTTest",
        betting="BettingTest",
        mann_whitney="MannWhitneyU", wilcoxon="WilcoxonSignedRank", permutation="PermutationTest",
    )
    assert all(issubclass(cls, StatisticalTest) for cls in TESTS_BY_NAME.values())
    assert WelchTTest.name == "welch_t" and WelchTTest().test_name == "welch_t"
    assert PairedTTest.paired and WilcoxonSignedRank.paired and not WelchTTest.paired


@pytest.mark.parametrize("name", list(TESTS_BY_NAME))
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_run_mapping(name, alpha):
    test = get_test(name)
    out = test.run(B, T, alpha=alpha)
    assert out["significant"] == (out["p_value"] < alpha)
    assert out["test"] == test.test_name and out["alpha"] == alpha
    result = test.compute(B, T, confidence_level=1 - alpha)
    assert out["p_value"] == result.p_value
    if result.ci is None:  # 6 pairs: no exact 99% signed-rank interval exists (2 / 2**6 > 0.01); the
        # confidence sequence is still unbounded; the betting test gives no interval
        assert (name, alpha) == ("wilcoxon", 0.01) or name in ("sequential_t", "betting")
        assert out["ci"] is None
    else:
        low, high = out["ci"]
        assert low <= high and out["ci"] == result.ci.as_tuple()
        assert out["confidence_level"] == pytest.approx(1 - alpha)


def test_welch_run_matches_scipy():
    out = WelchTTest().run(B, T)
    # scipy.stats.ttest_ind(T, B, equal_var=False)
    assert out["p_value"] == pytest.approx(stats.ttest_ind(T, B, equal_var=False).pvalue, rel=1e-9)
    assert {"p_value", "significant", "statistic", "n_baseline", "n_treatment"} <= set(out)


def test_alternative_is_passed_through():
    greater = StudentTTest(alternative="greater").run(B, T)
    # scipy.stats.ttest_ind(T, B, alternative="greater")
    assert greater["p_value"] == pytest.approx(stats.ttest_ind(T, B, alternative="greater").pvalue)
    assert greater["alternative"] == "greater"
    assert MannWhitneyU(alternative="less").run(B, T)["p_value"] > 0.5


def test_permutation_test_is_seeded_per_instance():
    test = PermutationTest(n_resamples=500, seed=7)
    b, t = list(range(12)), [x + 3.5 for x in range(12)]  # comb(24, 12) > 500: Monte Carlo
    first = test.run(b, t)
    assert test.run(b, t) == first  # the seed is replayed on every run
    assert first["p_value"] == permutation_test(b, t, n_resamples=500, rng=7, confidence_level=0.95).p_value
    assert PermutationTest(paired=True).paired and not PermutationTest().paired
    assert not PermutationTest.paired  # the class default is untouched
    assert repr(test) == "PermutationTest(paired=False, n_resamples=500, alternative='two-sided', seed=7)"


def test_degenerate_data_through_a_class():
    with pytest.warns(DegenerateDataWarning):
        out = WelchTTest().run([1.0] * 4, [1.0] * 4)
    assert out["p_value"] == 1.0 and out["significant"] is False and out["notes"]


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: WelchTTest(alternative="bigger"), r"alternative='bigger' is not one of \('two-sided', 'greater', 'less'\)"),
        (lambda: PermutationTest(n_resamples=0), r"n_resamples=0 must be an integer >= 1"),
        (lambda: PermutationTest(seed=-1), r"seed=-1 must be a non-negative integer"),
        (lambda: PermutationTest(paired="yes"), r"paired='yes' is not one of \(True, False\)"),
        (lambda: WelchTTest().run(B, T, alpha=0), r"`alpha` must be in \(0, 1\), got 0"),
        (lambda: WelchTTest().run([1.0], T), r"`baseline` needs at least 2 samples, got n=1"),
    ],
)
def test_validation_messages(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_get_test():
    test = get_test("Permutation", paired=True, n_resamples=99)
    assert isinstance(test, PermutationTest) and test.paired and test.n_resamples == 99
    assert isinstance(get_test("mann-whitney"), MannWhitneyU)
    with pytest.raises(ValueError, match=r"unknown statistical test 'welsh'; did you mean 'welch'\? \(known: welch, student"):
        get_test("welsh")
    with pytest.raises(ValueError, match=r"unknown statistical test 'anova' \(known: "):
        get_test("anova")
    with pytest.raises(ValueError, match=r"invalid options for test 'welch': .*unexpected keyword argument 'paired'"):
        get_test("welch", paired=True)


def test_user_subclass_still_works():
    class Always(StatisticalTest):
        def run(self, baseline, treatment, *, alpha=0.05):
            return {"p_value": 0.0, "significant": True}

    assert Always().test_name == "Always" and Always().run([1], [2])["significant"]


def test_sequential_and_betting_tests_are_anytime_valid_built_ins():
    from crystallize.core.stat_test import BettingTest, SequentialTTest
    from crystallize.stats import anytime_pvalues, t_eprocess

    b = [0.50, 0.52, 0.49, 0.51, 0.50, 0.48, 0.53, 0.50]
    t = [0.55, 0.56, 0.52, 0.57, 0.54, 0.53, 0.58, 0.55]
    seq = get_test("sequential_t", alternative="greater")
    assert isinstance(seq, SequentialTTest) and seq.anytime_valid and seq.paired
    result = seq.compute(b, t)
    d = [y - x for x, y in zip(b, t)]
    assert result.p_value == anytime_pvalues(t_eprocess(d, alternative="greater"))[-1]
    assert SequentialTTest(expected_replicates=30).prior_scale == pytest.approx(0.5143, abs=1e-4)
    bet = get_test("betting", mode="win_rate")
    assert isinstance(bet, BettingTest) and bet.compute(b, t).estimate == 1.0
    assert not WelchTTest.anytime_valid
    with pytest.raises(ValueError, match="mode='coin'"):
        BettingTest(mode="coin")
