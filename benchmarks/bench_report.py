"""Benchmark of the report and the summary at scale, measured side by side in one run.

Prints medians over several repeats, each next to its target:

* a store of 100,000 runs (a baseline and one treatment over 50,000 replicates,
  one metric, one paired hypothesis): ``crystallize report`` and ``crystallize
  show``, each in a fresh process, against loading the result alone
  (``Result.load``): wall time, peak memory and the report's size (targets: the
  report under 1 MB, drawing the samples as a distribution instead of one SVG
  point each; the report and show add at most 100 MB and 2 s to loading the
  result);
* ``str(result)`` of an experiment of 10,000 treatments against one of 10
  treatments (target: under 1 s; the summary shows the first treatments and
  says how many more there are).

Run: ``python benchmarks/bench_report.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

try:
    from crystallize import Experiment, Hypothesis, Pipeline, Treatment, data_source, pipeline_step
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from crystallize import Experiment, Hypothesis, Pipeline, Treatment, data_source, pipeline_step

from crystallize.core.stat_test import PairedTTest

REPLICATES = 50_000  # x 2 conditions = 100,000 runs
WIDE = 10_000
REPEATS = 3
REPORT_BYTES_TARGET = 1_000_000
EXTRA_MB_TARGET = 100.0
EXTRA_S_TARGET = 2.0
STR_TARGET_S = 1.0

#: Runs one command in a fresh process and reports its wall time and peak memory on stderr.
_MEASURE = """
import resource, sys, time
start = time.perf_counter()
mode, store, run_id, *rest = sys.argv[1:]
if mode == "load":
    from crystallize import Result
    Result.load(run_id, store)
else:
    from crystallize.cli.main import cli
    cli.main(args=["--store", store, mode, run_id, *rest], prog_name="crystallize", standalone_mode=False)
print(f"@@ {time.perf_counter() - start:.6f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


@data_source
def draw(ctx, *, shift=0.0):
    return float(ctx.rng.normal(shift, 1.0))


@pipeline_step
def score(data):
    return {"score": data}


def _experiment(treatments: int, replicates: int) -> Experiment:
    return Experiment(name="bench", datasource=draw(), pipeline=Pipeline([score()]),
                      treatments=[Treatment(f"t{i}", {"shift": i / max(treatments, 1)}) for i in range(treatments)],
                      hypotheses=[Hypothesis("score", PairedTTest())], replicates=replicates, seed=1)


def _measure(mode: str, store: Path, run_id: str, *rest: str) -> tuple[float, float]:
    """Median wall seconds and median peak MB of ``mode`` in fresh processes."""
    seconds, peaks = [], []
    for _ in range(REPEATS):
        done = subprocess.run([sys.executable, "-c", _MEASURE, mode, str(store), run_id, *rest],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
        line = next(x for x in done.stderr.splitlines() if x.startswith("@@ "))
        wall, kilobytes = line.split()[1:]
        seconds.append(float(wall))
        peaks.append(int(kilobytes) / 1024)
    return statistics.median(seconds), statistics.median(peaks)


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def bench_store_report(folder: Path) -> bool:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _experiment(1, REPLICATES).run(store=str(folder / "store"), progress=False)
    assert result.run_id is not None
    print(f"store of {len(result.records):,} runs written in {time.perf_counter() - start:.1f} s")
    store, run_id, report = folder / "store", result.run_id, folder / "report.html"
    load_s, load_mb = _measure("load", store, run_id)
    report_s, report_mb = _measure("report", store, run_id, "-o", str(report))
    show_s, show_mb = _measure("show", store, run_id)
    size = report.stat().st_size
    print(f"load the result : {load_s:6.2f} s  {load_mb:6.0f} MB peak")
    print(f"report          : {report_s:6.2f} s  {report_mb:6.0f} MB peak  ({report_s / load_s:.2f}x the load; "
          f"+{report_mb - load_mb:.0f} MB)")
    print(f"show            : {show_s:6.2f} s  {show_mb:6.0f} MB peak  ({show_s / load_s:.2f}x the load; "
          f"+{show_mb - load_mb:.0f} MB)")
    ok_size = size < REPORT_BYTES_TARGET
    ok_extra = all(extra_mb <= EXTRA_MB_TARGET and extra_s <= EXTRA_S_TARGET
                   for extra_mb, extra_s in ((report_mb - load_mb, report_s - load_s),
                                             (show_mb - load_mb, show_s - load_s)))
    print(f"report size     : {size / 1e6:.2f} MB (target < {REPORT_BYTES_TARGET / 1e6:.0f} MB): {_verdict(ok_size)}")
    print(f"report and show add at most {EXTRA_MB_TARGET:.0f} MB and {EXTRA_S_TARGET:.0f} s to the load: "
          f"{_verdict(ok_extra)}")
    return ok_size and ok_extra


def _str_seconds(treatments: int) -> tuple[float, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _experiment(treatments, 2).run(store=False, progress=False)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        text = str(result)
        times.append(time.perf_counter() - start)
        result.__dict__.pop("metrics", None)  # measure the cold summary each time (metrics is cached)
    return statistics.median(times), len(text)


def bench_wide_summary() -> bool:
    small_s, small_chars = _str_seconds(10)
    wide_s, wide_chars = _str_seconds(WIDE)
    print(f"str(result), 10 treatments     : {small_s * 1e3:7.1f} ms, {small_chars:,} characters")
    print(f"str(result), {WIDE:,} treatments : {wide_s * 1e3:7.1f} ms, {wide_chars:,} characters "
          f"({wide_s / small_s:.1f}x)")
    ok = wide_s < STR_TARGET_S
    print(f"target: under {STR_TARGET_S:.0f} s: {_verdict(ok)}")
    return ok


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ok = bench_store_report(Path(tmp))
    ok = bench_wide_summary() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
