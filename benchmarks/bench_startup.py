"""Start-up costs, measured side by side in one run, each in fresh processes.

Prints medians of alternating rounds:

* **import**: ``python -c "import crystallize"`` against ``python -c pass``
  (reported as the extra milliseconds and a ratio; SciPy and pandas must not load);
* **crystallize list** on a small store (target: at most 0.5 s);
* **cold script**: a fresh process that builds a trivial experiment of 1,000
  replicates (2,000 runs, default store on) and runs it, against the same run
  once warm in one process (microseconds per run), and against
  ``crystallize-ml==0.27.0`` doing the same in a fresh process of its own
  (target: cold at least 4x faster), when it can be installed
  (``.bench/venv-crystallize-ml``, shared with ``bench_execution.py``). The
  floor of any process that computes a p-value with SciPy is printed beside it:
  ``python -c "import numpy, scipy.special"``.

Run: ``python benchmarks/bench_startup.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
REPLICATES = 1_000
TARGETS = {"list_s": 0.5, "cold_vs_ml": 4.0}

EXPERIMENT = textwrap.dedent('''
    import sys, time
    start = time.perf_counter()
    from crystallize import Experiment, Hypothesis, Treatment, WelchTTest, data_source, pipeline_step

    @data_source
    def short_list(ctx):
        return [1.0, 2.0, 3.0]

    @pipeline_step
    def scale(data, ctx, *, factor=1.0):
        return [x * factor for x in data]

    @pipeline_step
    def total(data, ctx):
        return {"total": sum(data)}

    def build(replicates):
        return Experiment(short_list(), [scale(), total()], treatments=[Treatment("double", {"factor": 2.0})],
                          hypothesis=Hypothesis("total", WelchTTest(), direction="increase"),
                          replicates=replicates, seed=1, name="startup")

    replicates = int(sys.argv[1])
    imported = time.perf_counter()
    build(replicates).run(progress=False)
    cold = time.perf_counter() - imported
    again = time.perf_counter()
    build(replicates).run(progress=False)
    warm = time.perf_counter() - again
    print(f"process {time.perf_counter() - start - warm} cold {cold} warm {warm}")
''')


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _wall(command: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _bench_execution() -> Any:
    sys.path.insert(0, str(HERE))
    try:
        import bench_execution  # noqa: PLC0415
    finally:
        sys.path.pop(0)
    return bench_execution


def _ml_python() -> Path | None:
    """crystallize-ml's interpreter, installed by bench_execution.py's helper if needed."""
    bench_execution = _bench_execution()
    python = bench_execution.ML_VENV / "bin" / "python"
    if not python.exists() and bench_execution.crystallize_ml(100, 1) is None:
        return None
    return python


def _ml_cold(python_module: object) -> str:
    """bench_execution.py's crystallize-ml experiment, timed once in a fresh process."""
    definition = str(getattr(python_module, "ML_SCRIPT")).split("runs, repeats =")[0]
    return "import time\nstart = time.perf_counter()\n" + definition + textwrap.dedent('''
        imported = time.perf_counter()
        build(int(sys.argv[1])).run()
        print(f"process {time.perf_counter() - start} cold {time.perf_counter() - imported}")
    ''')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-ml", action="store_true", help="skip crystallize-ml")
    args = parser.parse_args()
    python = sys.executable
    command = str(Path(python).parent / "crystallize")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ml = None if args.no_ml else _ml_python()
    times: dict[str, list[float]] = {"pass": [], "import": [], "floor": [], "list": [], "process": [], "cold": [],
                                     "warm": [], "ml_process": [], "ml": []}
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "startup.py"
        script.write_text(EXPERIMENT)
        subprocess.run([python, str(script), "5"], cwd=work, check=True, capture_output=True)  # a small store
        ml_work = Path(work) / "ml"
        ml_work.mkdir()
        (ml_work / "cold.py").write_text(_ml_cold(_bench_execution()))
        for _ in range(args.rounds):  # alternating, so that load from other programs weighs on all alike
            times["pass"].append(_wall([python, "-c", "pass"]))
            times["import"].append(_wall([python, "-c", "import crystallize"]))
            times["floor"].append(_wall([python, "-c", "import numpy, scipy.special"]))
            times["list"].append(_wall([command, "list"], cwd=work))
            out = subprocess.run([python, str(script), str(REPLICATES)], cwd=work, check=True, capture_output=True,
                                 text=True).stdout.split()
            times["process"].append(float(out[1]))
            times["cold"].append(float(out[3]))
            times["warm"].append(float(out[5]))
            if ml is not None:
                done = subprocess.run([str(ml), "cold.py", str(REPLICATES)], cwd=ml_work, capture_output=True,
                                      text=True, env=env)
                if done.returncode == 0:
                    words = done.stdout.split()
                    times["ml_process"].append(float(words[-3]))
                    times["ml"].append(float(words[-1]))
    med = {k: statistics.median(v) for k, v in times.items() if v}
    loaded = subprocess.run([python, "-c", "import sys, crystallize; print(sorted(m for m in ('scipy', 'pandas') "
                             "if m in sys.modules))"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"import crystallize: {1000 * (med['import'] - med['pass']):.0f} ms beyond python -c pass "
          f"({med['import'] / med['pass']:.1f}x of {1000 * med['pass']:.0f} ms); scipy/pandas loaded: {loaded}")
    print(f"crystallize list (small store): {med['list']:.2f} s (target <= {TARGETS['list_s']:g} s: "
          f"{verdict(med['list'] <= TARGETS['list_s'])})")
    runs = 2 * REPLICATES
    print(f"{runs} trivial runs, store on, first run() of a fresh process: {med['cold'] / runs * 1e6:.0f} us/run "
          f"({med['cold']:.2f} s; the whole process with imports {med['process']:.2f} s); the same run warm "
          f"{med['warm'] / runs * 1e6:.0f} us/run")
    if "ml" in med:
        faster, whole = med["ml"] / med["cold"], med["ml_process"] / med["process"]
        print(f"crystallize-ml 0.27, the same in a fresh process: whole process {med['ml_process']:.2f} s, "
              f"{whole:.1f}x ours (target >= {TARGETS['cold_vs_ml']:g}x: {verdict(whole >= TARGETS['cold_vs_ml'])}); "
              f"first run {med['ml']:.2f} s, {faster:.1f}x ours")
        print(f"  floor: python -c 'import numpy, scipy.special' takes {med['floor']:.2f} s; a {TARGETS['cold_vs_ml']:g}x "
              f"faster whole process would need {med['ml_process'] / TARGETS['cold_vs_ml']:.2f} s")
    print(f"[{args.rounds} alternating rounds, medians]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
