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
* **scaling**: workloads of 40 x 20 ms, 200 x 20 ms, 40 x 200 ms and 2,000 x
  1 ms of CPU per run (a fixed amount of pure-Python work, not a sleep) on
  serial, processes and Dask with 2 workers, and a bare
  ``multiprocessing.Pool(2)`` against a bare loop: the ceiling of the machine.
  Each engine is started and warmed up before the timed runs, as a user
  keeping a backend or a client up would: a ``ProcessesBackend(workers=2)``,
  the private LocalCluster ``backend="dask"`` starts (TLS, loopback). The
  engines take turns in alternating rounds (the order rotates), and each
  speed-up is against the serial run of the same round; medians with min-max.
  A noise gauge measures the CPU that other programs used during each timed
  run (the machine's busy time minus this process and its workers'); rounds
  on a busy machine are flagged, with the medians of the quiet rounds beside.
  Target: Dask at least 0.8x of processes on 40 x 20 ms and 0.9x on 4 s of
  work or more, measured in the same rounds (on one machine the scheduler
  takes CPU from the workers; on a cluster it has its own);
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
TARGETS = {"loop": 3.0, "ml": 5.0, "scale_s": 5.0, "scale_mb": 300.0}


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

WORKLOADS = ((40, 0.020), (200, 0.020), (40, 0.200), (2000, 0.001))  # (runs, seconds of CPU per run)
ENGINES = ("serial", "processes", "dask", "loop", "pool")
BUSY_CORES = 0.2  # a round in which other programs used more than this many cores is flagged
#: Dask's speed-up at least this fraction of the processes backend's (4 s of work or more: 0.9)
DASK_TARGETS = {(40, 0.020): 0.8, (200, 0.020): 0.9, (40, 0.200): 0.9}


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


def burner(spins: int, runs: int) -> Experiment:
    @data_source
    def nothing(ctx: Any) -> int:
        return 0

    @pipeline_step
    def burn(data: int, ctx: Any) -> dict[str, int]:
        return {"spun": spin(spins)}

    return Experiment(nothing(), [burn()], replicates=runs, seed=3)


class NoiseGauge:
    """CPU seconds that programs other than this one (and its worker processes)
    used while a timed run lasted: the machine's busy time minus ours."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()

    def _busy(self) -> float:
        times = self._psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, "iowait", 0.0) - getattr(times, "guest", 0.0) \
            - getattr(times, "guest_nice", 0.0)

    def _ours(self) -> float:
        total = sum(self._me.cpu_times()[:4])  # user, system, and those of reaped children
        for child in self._me.children(recursive=True):
            with contextlib.suppress(self._psutil.Error):
                total += sum(child.cpu_times()[:2])
        return total

    def measure(self, work: Any) -> tuple[float, float]:
        """Seconds ``work()`` took, and the cores other programs used meanwhile."""
        busy, ours = self._busy(), self._ours()
        start = time.perf_counter()
        work()
        took = time.perf_counter() - start
        others = (self._busy() - busy) - (self._ours() - ours)
        return took, max(0.0, others) / took


def bare_pool(pool: Any, spins: int, runs: int) -> None:
    pool.map(spin, [spins] * runs, chunksize=1)


def bare_loop(spins: int, runs: int) -> None:
    for _ in range(runs):
        spin(spins)


def one_round(engines: dict[str, Any], gauge: NoiseGauge, experiment: Experiment, spins: int, runs: int,
              order: list[str]) -> dict[str, tuple[float, float]]:
    """Each engine's seconds and noise, timed one after another in ``order``."""

    def run_on(backend: Any) -> None:
        result = experiment.run(backend=backend, store=False, progress=False)
        assert all(r.ok for r in result.records) and len(result.records) == runs

    work = {"serial": lambda: run_on("serial"), "processes": lambda: run_on(engines["processes"]),
            "dask": lambda: run_on(engines["dask"]), "loop": lambda: bare_loop(spins, runs),
            "pool": lambda: bare_pool(engines["pool"], spins, runs)}
    return {name: gauge.measure(work[name]) for name in order}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x [{min(values):.2f}-{max(values):.2f}]"


def scaling(rounds: int) -> None:
    """Serial, processes, Dask and a bare ``multiprocessing.Pool`` on each workload,
    timed in alternating rounds (the order rotates from round to round); each
    speed-up is against the serial run (for the bare pool: the bare loop) of the
    same round, so a slow spell of a shared machine weighs on both sides alike."""
    import multiprocessing

    from crystallize.execution.dask_backend import private_client

    gauge = NoiseGauge()
    print(f"scaling: {WORKERS} workers, engines started and warmed up (a ProcessesBackend, the private "
          f"LocalCluster backend='dask' starts, a bare multiprocessing.Pool with a bare loop as its serial); "
          f"{rounds} alternating rounds, median speed-up against serial in the same round [min-max]; noise: cores "
          f"other programs used during the timed runs (a round above {BUSY_CORES:g} is busy, *)", flush=True)
    header = f"  {'workload':<14}{'serial':>8}  {'processes':<20}{'dask':<20}{'dask/processes':<32}" \
             f"{'bare Pool (ceiling)':<22}noise"
    print(header, flush=True)
    with contextlib.ExitStack() as stack:
        engines: dict[str, Any] = {
            "processes": stack.enter_context(ProcessesBackend(workers=WORKERS)),
            "dask": stack.enter_context(private_client(WORKERS)),
            "pool": stack.enter_context(multiprocessing.get_context("spawn").Pool(WORKERS)),  # fresh workers, not forks of this heap
        }
        for runs, seconds in WORKLOADS:
            spins = calibrate(seconds)
            experiment = burner(spins, runs)
            one_round(engines, gauge, burner(spins, min(runs, 20)), spins, min(runs, 20), list(ENGINES))  # warm up
            timed = [one_round(engines, gauge, experiment, spins, runs, ENGINES[i % 5:] + ENGINES[:i % 5])
                     for i in range(rounds)]
            report(runs, seconds, timed)


def report(runs: int, seconds: float, timed: list[dict[str, tuple[float, float]]]) -> None:
    def speedups(engine: str, base: str = "serial") -> list[float]:
        return [t[base][0] / t[engine][0] for t in timed]

    ratio = [t["processes"][0] / t["dask"][0] for t in timed]
    target = DASK_TARGETS.get((runs, seconds))
    mark = f" {verdict(statistics.median(ratio) >= target)} >= {target:g}" if target else ""
    noise = [max(n for _, n in t.values()) for t in timed]
    busy = sum(n > BUSY_CORES for n in noise)
    name = f"{runs} x {seconds * 1000:g} ms"
    print(f"  {name:<14}{statistics.median(t['serial'][0] for t in timed):>7.2f}s  {spread(speedups('processes')):<20}"
          f"{spread(speedups('dask')):<20}{spread(ratio) + mark:<32}{spread(speedups('pool', 'loop')):<22}"
          f"median {statistics.median(noise):.2f}, max {max(noise):.2f}{', ' + str(busy) + ' busy *' if busy else ''}",
          flush=True)
    if busy and busy < len(timed):
        quiet = [t for t, n in zip(timed, noise) if n <= BUSY_CORES]
        print(f"  {'  quiet only':<14}{'':>8}  "
              f"{spread([t['serial'][0] / t['processes'][0] for t in quiet]):<20}"
              f"{spread([t['serial'][0] / t['dask'][0] for t in quiet]):<20}"
              f"{spread([t['processes'][0] / t['dask'][0] for t in quiet]):<32}"
              f"{spread([t['loop'][0] / t['pool'][0] for t in quiet]):<22}{len(quiet)} rounds", flush=True)


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
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the scaling table")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["overhead", "crystallize-ml", "scaling", "scale"])
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
        scaling(args.rounds)
    if "scale" not in args.skip:
        scale_bench()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
