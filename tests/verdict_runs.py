"""Small real experiments whose values are given exactly, shared by the summary and report tests."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from crystallize import Experiment, Hypothesis, Pipeline, Result, Treatment, data_source, pipeline_step
from crystallize.core.stat_test import PairedTTest
from crystallize.core.verdict import Verdict


@data_source
def fixed(ctx, *, side="baseline", table=None):
    """The value of replicate ``ctx["replicate"]`` from ``table[side]``."""
    return float(table[side][ctx["replicate"]])


@data_source
def noise(ctx, *, shift=0.0):
    return float(ctx.rng.normal(shift, 1.0))


@pipeline_step
def emit(data):
    return {"x": data, "y": 2 * data}


def _quiet(experiment: Experiment) -> Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return experiment.run(store=False, progress=False)


def run_fixed(baseline: Sequence[float], treatment: Sequence[float], hypotheses: Sequence[Hypothesis],
              **options: object) -> Result:
    """Baseline and one treatment ("treated") producing exactly these values of ``x``
    (and ``y = 2x``), replicate by replicate."""
    table = {"baseline": list(baseline), "treated": list(treatment)}
    return _quiet(Experiment(datasource=fixed(table=table), pipeline=Pipeline([emit()]),
                             treatments=[Treatment("treated", {"side": "treated"})], hypotheses=list(hypotheses),
                             replicates=len(table["baseline"]), seed=1, **options))  # type: ignore[arg-type]


def wide_result(treatments: int) -> Result:
    """``treatments`` treatments t0, t1, ... over 3 replicates, one paired hypothesis on ``x``."""
    return _quiet(Experiment(datasource=noise(), pipeline=Pipeline([emit()]),
                             treatments=[Treatment(f"t{i}", {"shift": i / 100}) for i in range(treatments)],
                             hypotheses=[Hypothesis("x", PairedTTest())], replicates=3, seed=2))


def relative_margin_result() -> Result:
    """A non-inferiority claim with a 5% relative margin, the treatment about 1% better."""
    rng = np.random.default_rng(2)
    b = rng.normal(10.0, 1.0, 12)
    t = b * 1.01 + rng.normal(0.0, 0.05, 12)
    return run_fixed(b, t, [Hypothesis("x", direction="no_worse", margin=0.05, margin_relative=True,
                                       higher_is_better=True)])


def crafted_verdict(p: float, **fields: object) -> Verdict:
    """A two-sided verdict at alpha 0.05 with raw and adjusted p-value ``p`` (for display tests)."""
    values: dict[str, object] = dict(
        hypothesis="h", metric="x", treatment="t", direction=None, test="welch_t", alpha=0.05, p_value=p,
        p_value_adjusted=p, significant=p < 0.05, accepted=p < 0.05, estimate=0.1, estimand="mean_difference",
        ci=(0.0, 0.2), ci_level=0.95, n_baseline=5, n_treatment=5)
    values.update(fields)
    return Verdict(**values)  # type: ignore[arg-type]


def crafted_result(*p_values: float) -> Result:
    """A result holding nothing but one crafted verdict per p-value."""
    return Result(name="p", conditions=("baseline", "t"), records=(),
                  verdicts=tuple(crafted_verdict(p) for p in p_values))
