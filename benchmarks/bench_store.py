"""Benchmark of the run store and the step cache, measured side by side in one run.

Prints medians over several repeats, each next to its target:

* the cost of recording: a trivial experiment of 5,000 runs (serial,
  ``progress=False``) with the default SQLite store against ``store=False``
  (target: at most 15 us more per run);
* a cacheable step that returns a 1 MB NumPy array from a 1 MB input: a
  cache hit against recomputing the step, which takes 20 ms (target: a hit
  under 2 ms); a miss (compute and write the entry) for information;
* **scale**: 100,000 runs (one metric, one hypothesis, serial) with the
  store on, each in a fresh subprocess: the peak resident memory of the run
  (``VmHWM``; target under 300 MB), then of ``resume=True`` on that finished
  run (every record loaded back from the store) and of ``Result.load``, with
  the memory before the first run for reference.

Run: ``python benchmarks/bench_store.py`` (``--skip-scale`` leaves the scale
figures out).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:
    from crystallize import DataSource, Experiment, Hypothesis, PipelineStep, Treatment, WelchTTest
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from crystallize import DataSource, Experiment, Hypothesis, PipelineStep, Treatment, WelchTTest

from bench_execution import peak_mb  # this folder: the same measure of peak memory

from crystallize.core.context import FrozenContext
from crystallize.core.pipeline import Pipeline
from crystallize.store import FileStepCache

RUNS = 5_000
REPEATS = 7
OVERHEAD_TARGET_US = 15.0
HIT_TARGET_MS = 2.0
STEP_SECONDS = 0.020
SCALE_RUNS = 100_000
SCALE_TARGET_MB = 300.0


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


class Draw(DataSource):
    def fetch(self, ctx):
        return float(ctx.rng.random())


class Measure(PipelineStep):
    def __call__(self, data, ctx):
        return {"value": data + ctx.get("shift", 0.0)}


def scale_child(mode: str, store: str) -> None:
    """In a fresh process: run (``"run"``), resume (``"resume"``) or load (``"load"``) the
    100,000-run experiment in ``store``; print seconds and peak memory as JSON."""
    from crystallize import Result  # noqa: PLC0415

    warnings.simplefilter("ignore")
    experiment = Experiment(Draw(), [Measure()], treatments=[Treatment("shifted", {"shift": 0.1})],
                            hypothesis=Hypothesis("value", WelchTTest(), direction="increase"),
                            replicates=SCALE_RUNS // 2, seed=5, name="scale")
    before = peak_mb()
    start = time.perf_counter()
    if mode == "load":
        import crystallize.store  # noqa: PLC0415

        result = Result.load(crystallize.store.open(store).experiment_runs()[0].id, store)
    else:
        result = experiment.run(store=store, progress=False, resume=mode == "resume")
    took = time.perf_counter() - start
    assert len(result.records) == SCALE_RUNS
    print(json.dumps({"seconds": took, "peak_mb": peak_mb(), "before_mb": before}))


def bench_scale(folder: Path) -> dict[str, dict[str, Any]]:
    """The scale figures, each measured in its own fresh process, one after another."""
    store = str(folder / "scale")
    figures = {}
    for mode in ("run", "resume", "load"):
        done = subprocess.run([sys.executable, __file__, "--scale-child", mode, store], capture_output=True,
                              text=True)
        if done.returncode:
            raise RuntimeError(f"scale {mode} failed: {done.stderr.strip()[-2000:]}")
        figures[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str]) -> int:
    if argv[:1] == ["--scale-child"]:
        scale_child(argv[1], argv[2])
        return 0
    folder = Path(tempfile.mkdtemp(prefix="crystallize-bench-store-"))
    try:
        off, on = bench_recording(folder)
        hit, recompute, miss = bench_cache(folder)
        scale = None if "--skip-scale" in argv else bench_scale(folder)
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
    ok_scale = True
    if scale is not None:
        run = scale["run"]
        ok_scale = run["peak_mb"] < SCALE_TARGET_MB
        print(f"scale, {SCALE_RUNS:,} runs (one metric, one hypothesis, serial), store on, each in a fresh process "
              f"({run['before_mb']:.0f} MB before the first run):")
        print(f"  run                {run['seconds']:6.2f} s   peak {run['peak_mb']:6.0f} MB   "
              f"target < {SCALE_TARGET_MB:.0f} MB   {'OK' if ok_scale else 'MISSED'}")
        for mode, label in (("resume", "resume (all done)"), ("load", "Result.load")):
            print(f"  {label:<19}{scale[mode]['seconds']:6.2f} s   peak {scale[mode]['peak_mb']:6.0f} MB")
    return 0 if ok_overhead and ok_hit and ok_scale else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
