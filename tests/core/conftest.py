"""Small experiments shared by the core tests."""

from __future__ import annotations

import random

import numpy as np
import pytest

from crystallize import DataSource, Experiment, Hypothesis, Pipeline, PipelineStep, Treatment, data_source, pipeline_step
from crystallize.core.stat_test import WelchTTest


class NoiseSource(DataSource):
    """Draws from every generator a user might use, so seeding is visible."""

    def fetch(self, ctx):
        return {"py": random.random(), "np": float(np.random.random()), "rng": float(ctx.rng.random())}


class Score(PipelineStep):
    def __call__(self, data, ctx):
        shift = ctx.get("shift", 0.0)
        return {"score": data["py"] + data["np"] + data["rng"] + shift, "label": "x"}


@data_source
def constant_source(ctx, *, value=1.0):
    return value


@pipeline_step
def add(data, ctx, *, amount=0.0):
    return data + amount


@pipeline_step
def report(data, ctx):
    return {"value": data}


def make_experiment(*, replicates=6, seed=7, treatments=None, hypotheses=None, **kwargs) -> Experiment:
    return Experiment(
        datasource=NoiseSource(),
        pipeline=Pipeline([Score()]),
        treatments=treatments if treatments is not None else [Treatment("shifted", {"shift": 1.0})],
        hypotheses=hypotheses if hypotheses is not None else [
            Hypothesis("score", WelchTTest(), direction="increase")],
        replicates=replicates,
        seed=seed,
        **kwargs,
    )


@pytest.fixture
def experiment() -> Experiment:
    return make_experiment()
