"""The pytest plugin, exercised by running real test files with pytester."""

from __future__ import annotations

import textwrap

pytest_plugins = ["pytester"]

EXPERIMENT = textwrap.dedent('''
    import zlib

    import numpy as np

    from crystallize import Experiment, Hypothesis, Pipeline, Treatment, data_source, pipeline_step
    from crystallize.core.stat_test import PairedTTest

    EXECUTED = []

    @data_source
    def scores(ctx, *, shift=0.0):
        rng = np.random.default_rng([ctx["seed"], zlib.crc32(ctx["condition"].encode())])
        return float(rng.normal(0.80 + shift, 0.01))

    @pipeline_step
    def evaluate(data, ctx):
        EXECUTED.append((ctx["condition"], ctx["replicate"]))
        return {"accuracy": data}

    def build():
        return Experiment(datasource=scores(), pipeline=Pipeline([evaluate()]),
                          treatments=[Treatment("new_model", {"shift": 0.05}),
                                      Treatment("worse_model", {"shift": -0.05})],
                          hypotheses=[Hypothesis("accuracy", PairedTTest(), direction="increase")],
                          replicates=6, seed=5)
''')


def test_fixture_runs_the_experiment_once_and_failures_read_as_verdicts(pytester):
    pytester.makepyfile(experiment_def=EXPERIMENT)
    pytester.makepyfile(test_claims='''
        from crystallize.testing import assert_accepted, assert_not_worse
        import experiment_def

        def test_new_model_is_better(crystallize_result):
            assert_accepted(crystallize_result(experiment_def.build), "accuracy", treatment="new_model")

        def test_worse_model_is_better(crystallize_result):
            assert_accepted(crystallize_result(experiment_def.build), "accuracy", treatment="worse_model")

        def test_worse_model_is_not_worse(crystallize_result):
            assert_not_worse(crystallize_result(experiment_def.build()), "accuracy", treatment="worse_model")

        def test_ran_once(crystallize_result):
            crystallize_result(experiment_def.build)
            assert len(experiment_def.EXECUTED) == 3 * 6
            assert crystallize_result.runs == 1
    ''')
    outcome = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore")
    outcome.assert_outcomes(passed=2, failed=2)
    outcome.stdout.fnmatch_lines([
        "*AssertionError: expected accepted, got opposite direction:",
        "*accuracy (increase) / worse_model: opposite direction · difference -0.0* · [[]-0.0*, -0.0*] 95% CI"
        " · p = * · p adj. = * · paired_t, alpha = 0.05, n = 6 vs 6",
        "*95% CI: two-sided tests at alpha = 0.05 (1 - alpha).",
    ])
    outcome.stdout.fnmatch_lines(["*AssertionError: expected not worse, got significantly worse:"])
    outcome.stdout.fnmatch_lines(["*note: the mean difference (-0.0*) goes against the hypothesised direction*"])
    outcome.stdout.fnmatch_lines(["FAILED test_claims.py::test_worse_model_is_better - AssertionError*",
                                  "FAILED test_claims.py::test_worse_model_is_not_worse - AssertionError*"])
    assert "raise AssertionError" not in outcome.stdout.str()  # the helper's own frame is hidden


def test_run_options_key_the_cache_and_bad_arguments_are_named(pytester):
    pytester.makepyfile(experiment_def=EXPERIMENT)
    pytester.makepyfile(test_options='''
        import pytest
        import experiment_def

        def test_options(crystallize_result, tmp_path_factory):
            first = crystallize_result(experiment_def.build, backend="threads", workers=2)
            assert crystallize_result(experiment_def.build, backend="threads", workers=2) is first
            stored = crystallize_result(experiment_def.build, store=str(tmp_path_factory.mktemp("runs")))
            assert stored is not first and stored.run_id is not None
            assert crystallize_result.runs == 2

        def test_not_an_experiment(crystallize_result):
            with pytest.raises(TypeError, match="expected an Experiment or a function returning one, got int"):
                crystallize_result(lambda: 3)
    ''')
    pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore").assert_outcomes(passed=2)
