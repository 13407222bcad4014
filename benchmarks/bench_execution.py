"""Benchmark of the execution layer, every figure measured side by side in one run.

Prints medians, each next to its target:

* **overhead per run** of a trivial experiment (a data source returning a
  short list, two steps, one treatment, one hypothesis; 10,000 runs, serial,
  ``store=False``, ``progress=False``) against (a) a plain Python loop doing
  the same work, deriving each replicate's seed with ``SeedSequence`` and
  seeding ``random`` and NumPy before each run as crystallize does (target:
  at most 3x), and (b) ``crystallize-ml==0.27.0`` from PyPI with its default
  plugins, installed here into ``.bench/venv-crystallize-ml`` and run in a
  subprocess (target: at least 5x faster);
* **scaling**: 40 runs of a step burning 20 ms of CPU (a fixed amount of
  pure-Python work, not a sleep) on processes, Dask and Ray with 2 workers
  against serial (target: speed-up >= 1.85 for processes and Dask). Each
  engine is started and warmed up (workers started, experiment loaded) before
  the timed runs, as a user keeping a backend, a client or Ray up would: a
  ``ProcessesBackend(workers=2)``, the LocalCluster ``backend="dask"``
  starts, a local Ray with 2 CPUs. Each engine's runs alternate with serial
  runs, and its speed-up is against those serial runs; processes and Dask
  take turns round after round, so that a slow spell of the machine weighs
  on both alike (Ray, whose idle daemons use CPU, runs after). The cold figure
  for ``backend="processes"`` (worker start-up included) is printed for
  information, and so is the ceiling of the machine: a bare
  ``multiprocessing.Pool`` against a bare loop on the same work;
* **scale**: 100,000 runs with one metric, serial, ``store=False``, in a
  fresh subprocess: total time and peak resident memory (``VmHWM``)
  (targets: under 5 s and under 300 MB).

Run: ``python benchmarks/bench_execution.py`` (``--help`` for options;
``--profile`` prints where the serial overhead goes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import venv
import warnings
from pathlib import Path
from typing import Any

import numpy as np

try:
    from crystallize import Experiment, Hypothesis, Treatment, WelchTTest, data_source, pipeline_step
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from crystallize import Experiment, Hypothesis, Treatment, WelchTTest, data_source, pipeline_step

from crystallize.execution import ProcessesBackend

ROOT = Path(__file__).resolve().parents[1]
ML_VENV = ROOT / ".bench" / "venv-crystallize-ml"
ML_VERSION = "0.27.0"
RUNS = 10_000
SCALE_RUNS = 100_000
BURN_SECONDS = 0.020
BURN_RUNS = 40
WORKERS = 2
TARGETS = {"loop": 3.0, "ml": 5.0, "speedup": 1.85, "scale_s": 5.0, "scale_mb": 300.0}


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# -- overhead per run ---------------------------------------------------------

@data_source
def short_list(ctx: Any) -> list[float]:
    return [1.0, 2.0, 3.0]


@pipeline_step
def scale(data: list[float], ctx: Any, *, factor: float = 1.0) -> list[float]:
    return [x * factor for x in data]


@pipeline_step
def total(data: list[float], ctx: Any) -> dict[str, float]:
    return {"total": sum(data)}


def trivial(runs: int) -> Experiment:
    """Baseline and one treatment over ``runs / 2`` replicates: ``runs`` runs."""
    return Experiment(short_list(), [scale(), total()], treatments=[Treatment("double", {"factor": 2.0})],
                      hypothesis=Hypothesis("total", WelchTTest(), direction="increase"),
                      replicates=runs // 2, seed=1)


def ours(runs: int) -> float:
    experiment = trivial(runs)
    start = time.perf_counter()
    experiment.run(store=False, progress=False)
    return time.perf_counter() - start


def plain_loop(runs: int) -> float:
    """The same work by hand: seeds from SeedSequence, both generators seeded per run."""
    start = time.perf_counter()
    samples: dict[str, list[float]] = {"baseline": [], "double": []}
    for replicate in range(runs // 2):
        seed = int(np.random.SeedSequence(1, spawn_key=(replicate,)).generate_state(1, dtype=np.uint32)[0])
        for condition, factor in (("baseline", 1.0), ("double", 2.0)):
            random.seed(seed)
            np.random.seed(seed)
            data = [1.0, 2.0, 3.0]
            data = [x * factor for x in data]
            samples[condition].append(sum(data))
    return time.perf_counter() - start


ML_SCRIPT = textwrap.dedent('''
    import statistics, sys, time
    from crystallize import Experiment, data_source, hypothesis, pipeline_step, treatment, verifier

    CALLS = [0]

    @data_source
    def short_list(ctx):
        CALLS[0] += 1
        return [1.0, 2.0, 3.0]

    @pipeline_step()
    def scale(data, ctx, *, factor: float = 1.0):
        return [x * factor for x in data]

    @pipeline_step()
    def total(data, ctx):
        return data, {"total": sum(data)}

    @verifier
    def mean_difference(baseline, treatment, alpha: float = 0.05):
        b, t = baseline["total"], treatment["total"]
        diff = sum(t) / len(t) - sum(b) / len(b)
        return {"p_value": 0.0 if diff else 1.0, "significant": diff != 0}

    @hypothesis(verifier=mean_difference(), metrics="total")
    def larger(result):
        return result.get("p_value", 1.0)

    def build(replicates):  # the builder attaches the default plugins (artifacts, seeds, logging)
        return (Experiment.builder("bench").datasource(short_list()).add_step(scale()).add_step(total())
                .treatments([treatment("double", {"factor": 2.0})]).hypotheses([larger])
                .replicates(replicates).build())

    runs, repeats = int(sys.argv[1]), int(sys.argv[2])
    build(50).run()
    times = []
    for _ in range(repeats):
        CALLS[0] = 0
        experiment = build(runs // 2)
        start = time.perf_counter()
        experiment.run()
        times.append(time.perf_counter() - start)
        assert CALLS[0] == runs, f"expected {runs} runs, the data source was called {CALLS[0]} times"
    print(f"us_per_run {statistics.median(times) / runs * 1e6:.3f}")
''')


def crystallize_ml(runs: int, repeats: int) -> float | None:
    """Microseconds per run of crystallize-ml 0.27.0, installed into its own venv
    (its import name is ``crystallize`` too); ``None`` if it cannot be installed."""
    python = ML_VENV / "bin" / "python"
    if not python.exists():
        print(f"  installing crystallize-ml=={ML_VERSION} into {ML_VENV.relative_to(ROOT)} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(ML_VENV)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", f"crystallize-ml=={ML_VERSION}", "numpy"],
                              capture_output=True, text=True)
        if done.returncode:
            print(f"  could not install crystallize-ml: {done.stderr.strip()[-500:]}")
            return None
    with tempfile.TemporaryDirectory() as work:  # it writes artifacts under ./data
        script = Path(work) / "bench_ml.py"
        script.write_text(ML_SCRIPT)
        done = subprocess.run([str(python), str(script), str(runs), str(repeats)], cwd=work, capture_output=True,
                              text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if done.returncode:
        print(f"  crystallize-ml failed: {done.stderr.strip()[-1000:]}")
        return None
    return float(done.stdout.split("us_per_run")[-1])


def overhead(repeats: int, with_ml: bool) -> None:
    ours(1_000)  # warm up imports and caches
    plain_loop(1_000)
    times: dict[str, list[float]] = {"ours": [], "loop": []}
    for _ in range(repeats):  # interleaved, so that load from other processes weighs on both alike
        times["ours"].append(ours(RUNS))
        times["loop"].append(plain_loop(RUNS))
    mine = statistics.median(times["ours"]) / RUNS * 1e6
    loop = statistics.median(times["loop"]) / RUNS * 1e6
    ratio = mine / loop
    line = (f"overhead per run: crystallize {mine:.1f} us, seeded loop {loop:.1f} us "
            f"({ratio:.1f}x, target <= {TARGETS['loop']:g}x: {verdict(ratio <= TARGETS['loop'])})")
    if with_ml:
        ml = crystallize_ml(RUNS, min(repeats, 3))
        if ml is not None:
            faster = ml / mine
            line += (f", crystallize-ml {ML_VERSION} {ml:.0f} us ({faster:.1f}x faster, "
                     f"target >= {TARGETS['ml']:g}x: {verdict(faster >= TARGETS['ml'])})")
    print(line, flush=True)


def profile_overhead() -> None:
    import cProfile
    import pstats

    experiment = trivial(RUNS)
    profiler = cProfile.Profile()
    profiler.runcall(experiment.run, store=False, progress=False)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


# -- scaling --------------------------------------------------------------------

def calibrate(seconds: float) -> int:
    """Loop iterations of :func:`spin` that take ``seconds`` of CPU here."""
    spins = 100_000
    while True:
        start = time.process_time()
        spin(spins)
        took = time.process_time() - start
        if took > 0.05:
            return int(spins * seconds / took)
        spins *= 2


def spin(count: int) -> int:
    x = 0
    for i in range(count):
        x += i & 7
    return x


def burner(spins: int) -> Experiment:
    @data_source
    def nothing(ctx: Any) -> int:
        return 0

    @pipeline_step
    def burn(data: int, ctx: Any) -> dict[str, int]:
        return {"spun": spin(spins)}

    return Experiment(nothing(), [burn()], replicates=BURN_RUNS, seed=3)


def timed_run(experiment: Experiment, backend: Any, **kwargs: Any) -> float:
    start = time.perf_counter()
    result = experiment.run(backend=backend, store=False, progress=False, **kwargs)
    took = time.perf_counter() - start
    assert all(r.ok for r in result.records) and len(result.records) == BURN_RUNS
    return took


def hardware_ceiling(spins: int, repeats: int) -> float:
    """Speed-up of a bare ``multiprocessing.Pool`` over a bare loop on the same work:
    what 2 cores give here with no framework at all (frequency and neighbours included)."""
    import multiprocessing

    ratios = []
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        pool.map(spin, [1] * WORKERS)
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(BURN_RUNS):
                spin(spins)
            alone = time.perf_counter() - start
            start = time.perf_counter()
            pool.map(spin, [spins] * BURN_RUNS, chunksize=1)
            ratios.append(alone / (time.perf_counter() - start))
    return statistics.median(ratios)


def interleaved(experiment: Experiment, engines: dict[str, Any], repeats: int) -> dict[str, tuple[float, float]]:
    """Each engine's median seconds, and the median of the serial runs timed
    just before each of its runs. The engines take turns, round after round,
    so that a slow spell of a shared machine weighs on all of them alike."""
    serial: dict[str, list[float]] = {name: [] for name in engines}
    engine: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(repeats):
        for name, backend in engines.items():
            serial[name].append(timed_run(experiment, "serial"))
            engine[name].append(timed_run(experiment, backend))
    return {name: (statistics.median(serial[name]), statistics.median(engine[name])) for name in engines}


def scaling(repeats: int, engines: set[str]) -> None:
    """Each engine's median time against the median of serial runs timed
    alternately with it; processes and Dask take turns in the same rounds.

    An idle engine in this process does not slow serial runs measurably
    (checked: serial medians with and without an idle Dask LocalCluster up
    agree within 0.5%), so pairing them is fair, and it keeps the drift of a
    shared machine out of the ratio.
    """
    spins = calibrate(BURN_SECONDS)
    experiment = burner(spins)
    timed_run(experiment, "serial")
    ceiling = hardware_ceiling(spins, repeats)
    parts: list[tuple[str, float, float, bool]] = []
    cold = timed_run(experiment, "processes", workers=WORKERS) if "processes" in engines else None
    with contextlib.ExitStack() as stack:
        started: dict[str, Any] = {}
        if "processes" in engines:
            started["processes"] = stack.enter_context(ProcessesBackend(workers=WORKERS))
        if "dask" in engines:
            from crystallize.execution.dask_backend import local_client

            started["dask"] = stack.enter_context(local_client(WORKERS))  # the LocalCluster backend="dask" starts
        for backend in started.values():
            timed_run(experiment, backend)
        parts += [(name, *times, True) for name, times in interleaved(experiment, started, repeats).items()]
    if "ray" in engines:
        import ray

        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            timed_run(experiment, "ray")
            parts.append(("ray", *interleaved(experiment, {"ray": "ray"}, repeats)["ray"], False))
        finally:
            ray.shutdown()
    shown = []
    for name, serial, seconds, target in parts:
        speedup = serial / seconds
        mark = f", target >= {TARGETS['speedup']:g}: {verdict(speedup >= TARGETS['speedup'])}" if target else ""
        shown.append(f"{name} {seconds:.2f} s vs serial {serial:.2f} s ({speedup:.2f}x{mark})")
    print(f"scaling, {BURN_RUNS} runs x {BURN_SECONDS * 1000:.0f} ms of CPU, {WORKERS} workers, engines started "
          f"and warmed up, each timed alternately with serial runs ({repeats} pairs, medians; processes and Dask "
          f"take turns in the same rounds):", flush=True)
    for line in shown:
        print(f"  {line}", flush=True)
    print(f"  ceiling of this machine: the same {BURN_RUNS} spins, a bare loop against a bare "
          f"multiprocessing.Pool({WORKERS}) with nothing else: {ceiling:.2f}x", flush=True)
    if cold is not None and parts:
        print(f"  processes cold (backend='processes', worker start-up included): {cold:.2f} s "
              f"({parts[0][1] / cold:.2f}x)", flush=True)


# -- scale ------------------------------------------------------------------------

@data_source
def draw(ctx: Any) -> float:
    return float(ctx.rng.random())


@pipeline_step
def measure(data: float, ctx: Any, *, shift: float = 0.0) -> dict[str, float]:
    return {"value": data + shift}


def peak_mb() -> float:
    """Peak resident memory of this process: ``VmHWM`` on Linux (``ru_maxrss`` of
    a child can start at its parent's peak there), else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def scale_child(runs: int) -> None:
    """In a fresh process: run ``runs`` runs and print seconds and peak memory as JSON."""
    warnings.simplefilter("ignore")
    experiment = Experiment(draw(), [measure()], treatments=[Treatment("shifted", {"shift": 0.1})],
                            hypothesis=Hypothesis("value", WelchTTest(), direction="increase"),
                            replicates=runs // 2, seed=5)
    before = peak_mb()
    start = time.perf_counter()
    result = experiment.run(store=False, progress=False)
    took = time.perf_counter() - start
    assert len(result.records) == runs
    peak = peak_mb()
    print(json.dumps({"seconds": took, "peak_mb": peak, "before_mb": before}))


def scale_bench() -> None:
    done = subprocess.run([sys.executable, __file__, "--scale-child", str(SCALE_RUNS)], capture_output=True,
                          text=True, cwd=ROOT)
    if done.returncode:
        print(f"scale: failed: {done.stderr.strip()[-1000:]}")
        return
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    seconds, peak = figures["seconds"], figures["peak_mb"]
    print(f"scale: {SCALE_RUNS:,} runs (one metric), serial, store off: {seconds:.2f} s "
          f"(target < {TARGETS['scale_s']:g} s: {verdict(seconds < TARGETS['scale_s'])}), peak memory {peak:.0f} MB "
          f"(target < {TARGETS['scale_mb']:g} MB: {verdict(peak < TARGETS['scale_mb'])}; "
          f"{figures['before_mb']:.0f} MB before the first run)", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print each figure next to its target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (median)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["overhead", "crystallize-ml", "scaling", "processes", "dask", "ray", "scale"])
    parser.add_argument("--profile", action="store_true", help="profile the serial overhead and stop")
    parser.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.scale_child:
        scale_child(args.scale_child)
        return 0
    if args.profile:
        profile_overhead()
        return 0
    if "overhead" not in args.skip:
        overhead(args.repeats, "crystallize-ml" not in args.skip)
    if "scaling" not in args.skip:
        scaling(max(11, args.repeats), {"processes", "dask", "ray"} - set(args.skip))
    if "scale" not in args.skip:
        scale_bench()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
