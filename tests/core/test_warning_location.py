"""Warnings point at the user's line that led to them, never at a line of the library."""

from __future__ import annotations

import warnings

import numpy as np

from crystallize import Experiment, Hypothesis, Treatment
from crystallize.core.stat_test import WelchTTest
from crystallize.stats import bootstrap_ci

from .conftest import add, constant_source, report


def caught(call):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        value = call()
    return value, seen


def test_warnings_of_a_run_point_at_the_run_call():
    exp = Experiment(constant_source(), [add(), report()], [Treatment("typo", {"amuont": 1.0})],
                     Hypothesis("value", WelchTTest()), replicates=1, seed=0)
    _, seen = caught(lambda: exp.run(store=False, progress=False))
    assert any("which no step or data source read" in str(w.message) for w in seen)  # the misspelt key
    assert any("insufficient data" in str(w.message) for w in seen)  # 1 replicate per side
    assert {w.filename for w in seen} == {__file__}


def test_warnings_of_verify_and_of_a_stats_function_point_at_their_call():
    _, seen = caught(lambda: Hypothesis("value", WelchTTest()).verify({"value": [1.0, 1.0, 1.0]},
                                                                     {"value": [1.0, 1.0, 1.0]}))
    _, more = caught(lambda: bootstrap_ci(np.ones(8), np.ones(8), rng=np.random.default_rng(0)))
    assert seen and more
    assert {w.filename for w in seen + more} == {__file__}
