"""A small experiment with a better and a worse treatment, shared by the testing-helper tests."""

from __future__ import annotations

import zlib

import numpy as np

from crystallize import Experiment, Hypothesis, Pipeline, Treatment, data_source, pipeline_step
from crystallize.core.stat_test import PairedTTest


@data_source
def model_scores(ctx, *, shift=0.0):
    """Accuracy around 0.80 (sd 0.01), moved by ``shift``; each condition has its own noise."""
    rng = np.random.default_rng([ctx["seed"], zlib.crc32(ctx["condition"].encode())])
    return float(rng.normal(0.80 + shift, 0.01))


@pipeline_step
def evaluate(data):
    return {"accuracy": data, "latency": 10.0 - 10 * data}


def build_experiment(*, hypotheses=None, replicates=8) -> Experiment:
    """Baseline, ``new_model`` (+0.05 accuracy) and ``worse_model`` (-0.05)."""
    return Experiment(
        datasource=model_scores(), pipeline=Pipeline([evaluate()]),
        treatments=[Treatment("new_model", {"shift": 0.05}), Treatment("worse_model", {"shift": -0.05})],
        hypotheses=hypotheses or [Hypothesis("accuracy", PairedTTest(), direction="increase")],
        replicates=replicates, seed=3)
