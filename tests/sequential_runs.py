"""Small real sequential experiments whose values are given exactly, shared by the summary,
report and progress tests."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from crystallize import Experiment, Hypothesis, Pipeline, Result, SequentialTTest, Treatment, data_source, pipeline_step
from crystallize.core.sequential import Sequential


@data_source
def table_value(ctx, *, side="baseline", table=None):
    """The value of replicate ``ctx["replicate"]`` from ``table[side]``."""
    return float(table[side][ctx["replicate"]])


@pipeline_step
def emit(data):
    return {"x": data}


def sequential_tables(max_replicates: int = 60, seed: int = 3) -> dict[str, list[float]]:
    """Baseline noise, a treatment 0.6 better ("better") and one with no effect ("same")."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 1.0, max_replicates)
    return {"baseline": base.tolist(),
            "better": (base + 0.6 + rng.normal(0.0, 0.5, max_replicates)).tolist(),
            "same": (base + rng.normal(0.0, 0.5, max_replicates)).tolist()}


def sequential_experiment(hypotheses: Sequence[Hypothesis] | None = None, *, max_replicates: int = 60,
                          batch: int = 5, table: dict[str, list[float]] | None = None,
                          treatments: Sequence[str] = ("better", "same"), name: str = "seq",
                          **options: Any) -> Experiment:
    """An experiment over :func:`sequential_tables` (or ``table``), in rounds of ``batch``."""
    table = table or sequential_tables(max_replicates)
    hypotheses = hypotheses or [Hypothesis("x", SequentialTTest(), direction="increase", min_effect=0.3)]
    return Experiment(datasource=table_value(table=table), pipeline=Pipeline([emit()]),
                      treatments=[Treatment(t, {"side": t}) for t in treatments], hypotheses=list(hypotheses),
                      replicates=Sequential(max=max_replicates, batch=batch, min=5), seed=1, name=name, **options)


def run_sequential(*args: Any, **kwargs: Any) -> Result:
    """Run :func:`sequential_experiment` in memory, without a bar and warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sequential_experiment(*args, **kwargs).run(store=False, progress=False)
