"""Benchmark of crystallize.stats resampling against SciPy, from one run.

Prints medians over several repeats, each next to its target:

* ``permutation_test`` on 2 x 100 samples with 10,000 resamples against
  ``scipy.stats.permutation_test`` on the same data (target: >= 3x faster);
* peak traced memory (``tracemalloc``, which sees NumPy's buffers) of 100,000
  resamples of 2 x 10,000 samples (target: < 500 MB);
* ``bootstrap_ci`` (BCa) against ``scipy.stats.bootstrap`` for information.

Run: ``python benchmarks/bench_stats.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

try:
    from crystallize.stats import bootstrap_ci, permutation_test
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from crystallize.stats import bootstrap_ci, permutation_test

REPEATS = 7
SPEED_TARGET = 3.0
MEMORY_TARGET_MB = 500.0


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)  # type: ignore[no-any-return]


def _mean_diff_scalar(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(x) - np.mean(y))


def _median_seconds(func: Callable[[int], object], repeats: int = REPEATS) -> float:
    func(0)  # warm-up
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        func(i + 1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_mb(func: Callable[[], object]) -> tuple[float, float]:
    """Peak traced memory in MB and wall time in seconds of one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20, seconds


def main() -> None:
    """Run every benchmark and print its figures next to their targets."""
    rng = np.random.default_rng(2024)
    b, t = rng.normal(0.0, 1.0, 100), rng.normal(0.3, 1.0, 100)
    n = 10_000

    ours = _median_seconds(lambda s: permutation_test(b, t, n_resamples=n, rng=s))
    scipy_vec = _median_seconds(lambda s: stats.permutation_test((t, b), _mean_diff, n_resamples=n, rng=s))
    scipy_loop = _median_seconds(
        lambda s: stats.permutation_test((t, b), _mean_diff_scalar, n_resamples=n, rng=s), repeats=3
    )
    print(f"permutation_test, 2 x 100 samples, {n:,} resamples (median of {REPEATS}):")
    print(f"  crystallize.stats.permutation_test:          {ours * 1e3:8.1f} ms")
    print(f"  scipy.stats.permutation_test (axis-aware):   {scipy_vec * 1e3:8.1f} ms")
    print(f"  scipy.stats.permutation_test (scalar stat):  {scipy_loop * 1e3:8.1f} ms")
    speed_up = scipy_vec / ours
    verdict = "ok" if speed_up >= SPEED_TARGET else "MISSED"
    print(f"permutation_test speed-up vs scipy: {speed_up:.1f}x (target >= {SPEED_TARGET:g}x) {verdict}")
    print(f"permutation_test speed-up vs scipy with a scalar statistic: {scipy_loop / ours:.1f}x (information)")

    ps = [permutation_test(b, t, n_resamples=n, rng=s).p_value for s in range(5)]
    refs = [stats.permutation_test((t, b), _mean_diff, n_resamples=n, rng=s).pvalue for s in range(5)]
    print(f"  p-values over 5 seeds: ours {min(ps):.4f}..{max(ps):.4f}, scipy {min(refs):.4f}..{max(refs):.4f}")

    big_b, big_t = rng.normal(0.0, 1.0, 10_000), rng.normal(0.01, 1.0, 10_000)
    big_n = 100_000
    for paired in (False, True):
        peak, seconds = _peak_mb(lambda: permutation_test(big_b, big_t, paired=paired, n_resamples=big_n, rng=0))
        kind = "paired" if paired else "independent"
        verdict = "ok" if peak < MEMORY_TARGET_MB else "MISSED"
        print(
            f"permutation_test peak memory, 2 x 10,000 samples, {big_n:,} resamples ({kind}): "
            f"{peak:.0f} MB (target < {MEMORY_TARGET_MB:g} MB) {verdict}; took {seconds:.1f} s"
        )

    ours_bs = _median_seconds(lambda s: bootstrap_ci(b, t, n_resamples=9999, rng=s))
    scipy_bs = _median_seconds(lambda s: stats.bootstrap((t, b), _mean_diff, n_resamples=9999, rng=s))
    print(
        f"bootstrap_ci (BCa, 2 x 100, 9,999 resamples): {ours_bs * 1e3:.1f} ms vs scipy.stats.bootstrap "
        f"{scipy_bs * 1e3:.1f} ms, {scipy_bs / ours_bs:.1f}x (information)"
    )


if __name__ == "__main__":
    main()
