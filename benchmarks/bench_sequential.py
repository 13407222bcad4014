"""Sequential experiments: the cost of a look, and the replicates a sequential design saves.

Prints, each measured in this run:

* **cost of a look**: replaying every look of a sequential experiment with 2
  hypotheses and 3 treatments (4 conditions) at 200 replicates, from its records
  (what runs after every round), in milliseconds, median of repeated calls; and
  the same for 50 replicates;
* **replicates saved**: for paired differences with effect/sd of 0.3 and 0.5
  (80% power, alpha 0.05, one-sided), the fixed-n paired t count against the
  sequential design's expected and median stopping counts (simulated, 2,000
  experiments) and its budget for the same power; and an actual sequential
  experiment with effect/sd = 0.5 and its stopping count.

Run: ``python benchmarks/bench_sequential.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

try:
    import crystallize  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from crystallize import Experiment, Hypothesis, Treatment, data_source, pipeline_step
from crystallize.core.record import RunRecord
from crystallize.core.sequential import Sequential
from crystallize.core.sequential_analysis import sequential_verdicts
from crystallize.core.stat_test import SequentialTTest
from crystallize.stats import sequential_plan


def records(replicates: int, treatments: list[str]) -> list[RunRecord]:
    rng = np.random.default_rng(0)
    out = []
    for r in range(replicates):
        base = rng.normal(size=2)
        out.append(RunRecord("baseline", r, r, "ok", {"a": float(base[0]), "b": float(base[1])}))
        for name in treatments:
            noise = rng.normal(size=2)
            out.append(RunRecord(name, r, r, "ok", {"a": float(base[0] + noise[0]), "b": float(base[1] + noise[1])}))
    return out


def look_cost(replicates: int, repeats: int = 15) -> float:
    treatments = ["t1", "t2", "t3"]
    hypotheses = [Hypothesis("a", SequentialTTest(), direction="increase"),
                  Hypothesis("b", SequentialTTest(), direction="decrease", min_effect=0.3)]
    data = records(replicates, treatments)
    design = Sequential(max=1000, batch=5, min=5)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            start = time.perf_counter()
            sequential_verdicts(data, hypotheses, treatments, design)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


@data_source
def draw(ctx, *, n=10):
    return ctx.rng.normal(0.0, 1.0, n)


@pipeline_step
def score(data, ctx, *, lift=0.0):
    own = np.random.default_rng([ctx["seed"], len(ctx["condition"])]).normal(0.0, 1.0)
    return {"score": float(data.mean()) + lift + own}


def stopping_counts(effect: float, budget: int, sims: int = 2000) -> np.ndarray:
    """Replicates run per simulated experiment (paired differences of effect/sd ``effect``), capped at ``budget``."""
    from crystallize.stats._sequential import _first_crossing, _paths_log_e

    x = np.random.default_rng(3).normal(effect, 1.0, size=(sims, budget))
    stops = _first_crossing(_paths_log_e(x, 0.5, "greater"), float(np.log(20)))
    return np.where(stops == 0, budget, stops).astype(float)


def main() -> int:
    for n in (50, 200):
        ms = look_cost(n) * 1e3
        print(f"cost of a look: {ms:.1f} ms to replay every look of 2 hypotheses x 3 treatments at {n} replicates "
              f"(4 conditions)")
    for effect in (0.3, 0.5):
        for power in (0.8, 0.95):
            plan = sequential_plan(effect, 1.0, power=power, rng=1)
            saved = plan.fixed_replicates - plan.expected_replicates
            print(f"effect/sd {effect}, power {power:.0%}: fixed-n paired t needs {plan.fixed_replicates} replicates; "
                  f"sequential stops after {plan.expected_replicates:.1f} on average (median "
                  f"{plan.median_replicates:g}; {saved:+.1f} saved), with a budget of {plan.max_replicates}")
    planned = sequential_plan(0.3, 1.0, power=0.8, rng=1)
    for true in (0.3, 0.5, 0.8):
        stops = stopping_counts(true, planned.max_replicates)
        print(f"planned for effect/sd 0.3 (fixed n {planned.fixed_replicates}, budget {planned.max_replicates}), "
              f"true effect/sd {true}: sequential stops after {stops.mean():.1f} on average "
              f"({planned.fixed_replicates - stops.mean():+.1f} against the fixed n)")
    # an actual run: the paired differences have sd sqrt(2) (each side's own noise), the lift 0.5 * sqrt(2)
    lift = 0.5 * 2**0.5
    experiment = Experiment(draw(), [score()], [Treatment("t", {"lift": lift})],
                            hypotheses=[Hypothesis("score", SequentialTTest(), direction="increase")],
                            replicates=Sequential(max=200, batch=5, min=5), seed=2024, name="bench-sequential")
    start = time.perf_counter()
    result = experiment.run(store=False, progress=False)
    print(f"an experiment with effect/sd 0.5: stopped at {result.stopped_at} replicates ({result.stop_reason}) in "
          f"{time.perf_counter() - start:.2f} s; verdict {result.hypotheses[0].label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
