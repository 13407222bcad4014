"""Benchmark of timeouts on the processes backend, every figure measured side by side in one run.

Prints medians (with min-max):

* **what stopping a timed-out run costs**: replacing its worker (a fresh
  interpreter started with loky's fork + exec, importing crystallize and loading
  the experiment, until it is ready for a run), split into the bare interpreter
  and ``import crystallize``; against interrupting the run inside its worker
  (``SIGUSR1``: the worker goes on);
* **20 timed-out runs** (every run hangs, ``timeout=0.3``, 2 warm workers, no
  limit on timeouts in a row) in three modes taking turns in alternating rounds:
  ``kill`` (the worker of every timed-out run is killed and a new one started
  when needed: how it worked before), ``kill+spare`` (the same, with a spare
  worker kept loaded once a worker was killed: what now happens when a run does
  not stop when interrupted), and ``interrupt`` (the default). The floor is
  20 x 0.3 s / 2 workers = 3 s; the overhead per timed-out run is beyond it.
  Target: ``interrupt`` at least 1.5x faster than ``kill``;
* **80 runs that all hang** (``timeout=1``, ``backend="processes"``, 2 workers,
  as in issue 15, where they took 122 s): the time until the run stops after
  ``max_consecutive_timeouts`` (10 by default), against the 80 s the timeouts
  alone would take.

Run: ``python benchmarks/bench_timeouts.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

try:
    from crystallize import DataSource, Experiment, Pipeline, PipelineStep, Treatment
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from crystallize import DataSource, Experiment, Pipeline, PipelineStep, Treatment

from crystallize.core.runner import RunTask
from crystallize.execution import ProcessesBackend
from crystallize.execution.errors import TooManyTimeoutsError
from crystallize.execution.process_pool import ProcessPool
from crystallize.execution.worker import ship

WORKERS = 2
TIMEOUT = 0.3
HUNG_RUNS = 20
TARGET = 1.5
MODES: dict[str, dict[str, Any]] = {
    "kill": {"spares": 0, "interrupt": False},  # the old behaviour: every timeout replaces a worker
    "kill+spare": {"spares": 1, "interrupt": False},
    "interrupt": {"spares": 1, "interrupt": True},
}


class Nothing(DataSource):
    def fetch(self, ctx: Any) -> None:
        return None


class Hang(PipelineStep):
    """Sleeps ``seconds`` (a minute by default: a run that hangs)."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds

    def __call__(self, data: Any, ctx: Any) -> dict[str, float]:
        time.sleep(self.seconds)
        return {"x": 1.0}


def hanging(runs: int, seconds: float = 60.0) -> Experiment:
    """``runs`` runs (baseline and one treatment) that all sleep ``seconds``."""
    return Experiment(Nothing(), Pipeline([Hang(seconds)]), [Treatment("t", {"other": 1})], replicates=runs // 2,
                      seed=1)


def spread(values: list[float], scale: float = 1.0, unit: str = "s") -> str:
    scaled = [x * scale for x in values]
    return f"{statistics.median(scaled):.3f} {unit} ({min(scaled):.3f}-{max(scaled):.3f})"


# -- what stopping one run costs ---------------------------------------------------

def interpreter_seconds(code: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return times


def _shipped(experiment: Experiment) -> Any:
    task = RunTask(experiment.datasource, experiment.pipeline, {t.name: t for t in experiment.treatments})
    return ship(task, "processes")


def replacement_seconds(repeats: int) -> list[float]:
    """A new worker: started, crystallize imported, the experiment loaded, ready for a run."""
    shipped = _shipped(hanging(2))
    times = []
    for _ in range(repeats):
        pool = ProcessPool(1)
        start = time.perf_counter()
        pool.load(shipped, 1)
        while not all(w.token for w in pool._workers):  # noqa: SLF001 - the moment the worker is ready
            pool.poll(0.01)
        times.append(time.perf_counter() - start)
        pool.close(cancel=True)
    return times


def interrupt_seconds(repeats: int) -> list[float]:
    """Stopping a hung run in its warm worker, until the worker is free again."""
    experiment = hanging(2)
    pool = ProcessPool(1)
    pool.load(_shipped(experiment), 1)
    spec = experiment.plan()[0]
    times = []
    try:
        for _ in range(repeats):
            handle = pool.submit([spec])
            while pool.started(handle) is None:
                pool.poll(0.01)
            time.sleep(0.05)  # the run is asleep in its step
            start = time.perf_counter()
            what = pool.kill(handle)
            times.append(time.perf_counter() - start)
            assert "interrupted" in what, what
    finally:
        pool.close(cancel=True)
    return times


# -- 20 timed-out runs ---------------------------------------------------------------

def warm_backend(mode: str) -> ProcessesBackend:
    """Two workers in ``mode``, started and warmed up by a quick experiment."""
    backend = ProcessesBackend(workers=WORKERS, max_consecutive_timeouts=None)
    backend._pool = ProcessPool(WORKERS, **MODES[mode])  # noqa: SLF001 - the mode under test
    hanging(4, seconds=0.0).run(backend=backend, store=False, progress=False)
    return backend


def timed_out_runs(backend: ProcessesBackend) -> float:
    experiment = hanging(HUNG_RUNS)
    start = time.perf_counter()
    result = experiment.run(backend=backend, timeout=TIMEOUT, store=False, progress=False)
    elapsed = time.perf_counter() - start
    assert sum(r.status == "timeout" for r in result.records) == HUNG_RUNS
    return elapsed


def all_hang(runs: int, timeout: float) -> tuple[float, int]:
    """Seconds until ``runs`` hanging runs on ``backend="processes"`` stop, and the timeouts recorded."""
    start = time.perf_counter()
    try:
        hanging(runs).run(backend="processes", workers=WORKERS, timeout=timeout, store=False, progress=False)
    except TooManyTimeoutsError as exc:
        return time.perf_counter() - start, sum(r.status == "timeout" for r in exc.result.records)  # type: ignore[attr-defined]
    raise AssertionError("the run did not stop")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the three modes")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    print("what stopping one timed-out run costs (medians, min-max):")
    bare = interpreter_seconds("pass", 5)
    imported = interpreter_seconds("import crystallize", 5)
    replace = replacement_seconds(5)
    interrupt = interrupt_seconds(5)
    print(f"  bare interpreter start               {spread(bare)}")
    print(f"  interpreter + import crystallize     {spread(imported)}")
    print(f"  a replacement worker, until ready    {spread(replace)}")
    print(f"  interrupting the run in its worker   {spread(interrupt, 1000, 'ms')}")
    print(f"  -> a replacement costs {statistics.median(replace) / statistics.median(interrupt):,.0f}x an "
          f"interrupt; most of it is importing crystallize and its dependencies in the fresh interpreter")

    floor = HUNG_RUNS * TIMEOUT / WORKERS
    print(f"\n{HUNG_RUNS} timed-out runs, timeout={TIMEOUT}s, {WORKERS} warm workers "
          f"(floor {floor:.1f} s), {args.rounds} alternating rounds:")
    backends = {mode: warm_backend(mode) for mode in MODES}
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        for round_ in range(args.rounds):
            order = list(MODES)[round_ % len(MODES):] + list(MODES)[:round_ % len(MODES)]
            for mode in order:
                times[mode].append(timed_out_runs(backends[mode]))
    finally:
        for backend in backends.values():
            backend.close(cancel=True)
    for mode, values in times.items():
        over = [(t - floor) / HUNG_RUNS for t in values]
        print(f"  {mode:<11} total {spread(values)}   overhead per timed-out run {spread(over, 1000, 'ms')}")
    ratio = statistics.median(times["kill"]) / statistics.median(times["interrupt"])
    spare = statistics.median(times["kill"]) / statistics.median(times["kill+spare"])
    overhead = {mode: statistics.median(values) - floor for mode, values in times.items()}
    print(f"  overhead beyond the floor, kill / interrupt: {overhead['kill'] / max(overhead['interrupt'], 1e-3):.0f}x")
    print(f"  interrupt vs kill: {ratio:.2f}x faster (target >= {TARGET}x: {'ok' if ratio >= TARGET else 'MISSED'}); "
          f"kill+spare vs kill: {spare:.2f}x")

    stopped, recorded = all_hang(80, 1.0)
    print(f"\n80 runs that all hang, timeout=1s, backend='processes', {WORKERS} workers: stopped with "
          f"TooManyTimeoutsError after {stopped:.1f} s ({recorded} timeouts recorded; the 80 timeouts alone "
          f"would take at least {80 / WORKERS:.0f} s; issue 15 reported 122 s)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
