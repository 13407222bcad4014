"""A small real experiment run in memory, shared by the report tests."""

from __future__ import annotations

import warnings

import pytest

from crystallize import Experiment, Hypothesis, Pipeline, Result, Treatment, data_source, pipeline_step
from crystallize.core.exceptions import FailureImbalanceWarning
from crystallize.core.stat_test import PairedTTest, WelchTTest


@data_source
def gauss(ctx, *, shift=0.0, scale=1.0, n=40):
    """Noisy measurements around ``shift``."""
    return ctx.rng.normal(shift, scale, n)


@pipeline_step
def measure(data, ctx, *, fail_replicate=-1):
    """Mean and spread; fails on ``fail_replicate`` to exercise the failure section."""
    if ctx["replicate"] == fail_replicate:
        raise RuntimeError("sensor <offline> & unplugged")
    return {"score": float(data.mean()), "spread": float(data.std()), "label": "ok" if data.mean() > 0 else "low"}


def build_result(replicates: int = 8) -> Result:
    """Baseline, a shifted treatment and a failing one, two hypotheses; not stored."""
    experiment = Experiment(
        name="noisy <sensor> & 'co'",
        datasource=gauss(),
        pipeline=Pipeline([measure()]),
        treatments=[Treatment("shifted", {"shift": 0.3, "scale": 1.5}),
                    Treatment("<b>flaky</b>", {"fail_replicate": 2, "scale": 0.8})],
        hypotheses=[Hypothesis("score", PairedTTest(), direction="increase"),
                    Hypothesis("spread", WelchTTest(), name="spread_same")],
        replicates=replicates,
        seed=11,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FailureImbalanceWarning)
        return experiment.run(store=False, progress=False)


@pytest.fixture(scope="session")
def small_result() -> Result:
    """The result of :func:`build_result` (computed once)."""
    return build_result()


def build_wide_result() -> Result:
    """Long names, an opposite-direction verdict, a non-inferiority guard-rail with its
    margin and an equivalence claim: what strains the verdict table and the plots."""
    experiment = Experiment(
        name="wide verdict table",
        datasource=gauss(),
        pipeline=Pipeline([measure()]),
        treatments=[Treatment("learning_rate_0.01_with_cosine_warmup", {"shift": -0.6, "scale": 1.2}),
                    Treatment("regularised_model_with_dropout_0.3", {"shift": 0.05, "scale": 0.9}),
                    Treatment("third_treatment_name", {"shift": 0.4, "scale": 1.1})],
        hypotheses=[Hypothesis("score", PairedTTest(), direction="increase", name="score_increases_with_treatment"),
                    Hypothesis("spread", PairedTTest(), direction="no_worse", margin=0.2, higher_is_better=False,
                               name="spread_no_worse_guardrail", family="guardrails"),
                    Hypothesis("score", PairedTTest(), direction="equal", margin=0.5,
                               name="score_equivalent_within_margin", family="equivalence")],
        replicates=10,
        seed=5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return experiment.run(store=False, progress=False)
