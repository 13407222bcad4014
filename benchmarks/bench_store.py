"""Benchmark of the run store and the step cache, measured side by side in one run.

Prints medians over several repeats, each next to its target:

* the cost of recording: a trivial experiment of 5,000 runs (serial,
  ``progress=False``) with the default SQLite store against ``store=False``
  (target: at most 15 us more per run);
* a cacheable step that returns a 1 MB NumPy array from a 1 MB input: a
  cache hit against recomputing the step, which takes 20 ms (target: a hit
  under 2 ms); a miss (compute and write the entry) for information.

Run: ``python benchmarks/bench_store.py``.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

try:
    from crystallize import DataSource, Experiment, PipelineStep
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from crystallize import DataSource, Experiment, PipelineStep

from crystallize.core.context import FrozenContext
from crystallize.core.pipeline import Pipeline
from crystallize.store import FileStepCache

RUNS = 5_000
REPEATS = 7
OVERHEAD_TARGET_US = 15.0
HIT_TARGET_MS = 2.0
STEP_SECONDS = 0.020


class Constant(DataSource):
    def fetch(self, ctx):
        return 1.0


class Metric(PipelineStep):
    def __call__(self, data, ctx):
        return {"value": data}


class Expensive(PipelineStep):
    """Takes 20 ms and returns a 1 MB array."""

    cacheable = True

    def __call__(self, data, ctx):
        time.sleep(STEP_SECONDS)
        return data * 2.0


def _trivial() -> Experiment:
    return Experiment(Constant(), [Metric()], replicates=RUNS, seed=1, name="bench")


def _median(func: Callable[[], float], repeats: int) -> float:
    return statistics.median(func() for _ in range(repeats))


def bench_recording(folder: Path) -> tuple[float, float]:
    """Median seconds of the experiment with the store off and on (alternating repeats)."""
    off_times, on_times = [], []
    _trivial().run(store=False, progress=False)  # warm-up
    for repeat in range(REPEATS):
        experiment = _trivial()
        start = time.perf_counter()
        experiment.run(store=False, progress=False)
        off_times.append(time.perf_counter() - start)
        experiment = _trivial()
        store = folder / f"store{repeat}"
        start = time.perf_counter()
        experiment.run(store=store, progress=False)
        on_times.append(time.perf_counter() - start)
        shutil.rmtree(store)
    return statistics.median(off_times), statistics.median(on_times)


def bench_cache(folder: Path) -> tuple[float, float, float]:
    """Median seconds of a hit, a recompute and a miss of the 20 ms step."""
    step = Expensive()
    data = np.random.default_rng(0).random(131_072)  # 1 MB
    cache = FileStepCache(folder / "cache")

    def ctx() -> FrozenContext:
        return FrozenContext({"replicate": 0, "condition": "baseline", "seed": 1}, seed=1)

    def miss() -> float:
        shutil.rmtree(folder / "cache", ignore_errors=True)
        start = time.perf_counter()
        Pipeline._cached_call(step, data, ctx(), cache)
        return time.perf_counter() - start

    def hit() -> float:
        start = time.perf_counter()
        _, status, _ = Pipeline._cached_call(step, data, ctx(), cache)
        elapsed = time.perf_counter() - start
        assert status == "hit"
        return elapsed

    def recompute() -> float:
        start = time.perf_counter()
        step(data, ctx())
        return time.perf_counter() - start

    miss_time = _median(miss, REPEATS)
    hit()  # warm-up
    return _median(hit, 21), _median(recompute, REPEATS), miss_time


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="crystallize-bench-store-"))
    try:
        off, on = bench_recording(folder)
        hit, recompute, miss = bench_cache(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    overhead_us = (on - off) / RUNS * 1e6
    print(f"recording, {RUNS:,} trivial runs (median of {REPEATS}):")
    print(f"  store off        {off * 1e3:8.1f} ms  ({off / RUNS * 1e6:6.1f} us/run)")
    print(f"  store on         {on * 1e3:8.1f} ms  ({on / RUNS * 1e6:6.1f} us/run)")
    ok_overhead = overhead_us <= OVERHEAD_TARGET_US
    print(f"  overhead         {overhead_us:8.1f} us/run   target <= {OVERHEAD_TARGET_US:.0f} us/run   "
          f"{'OK' if ok_overhead else 'MISSED'}")
    print("step cache, 20 ms step returning 1 MB from a 1 MB input:")
    print(f"  recompute        {recompute * 1e3:8.2f} ms")
    print(f"  miss (+ write)   {miss * 1e3:8.2f} ms")
    ok_hit = hit * 1e3 < HIT_TARGET_MS
    print(f"  hit              {hit * 1e3:8.2f} ms   target < {HIT_TARGET_MS:.0f} ms   {'OK' if ok_hit else 'MISSED'}"
          f"   ({recompute / hit:.0f}x faster than recomputing)")
    return 0 if ok_overhead and ok_hit else 1


if __name__ == "__main__":
    raise SystemExit(main())
