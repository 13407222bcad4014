"""What recording the environment costs at run start, measured side by side in fresh processes.

Each round starts a fresh Python that imports NumPy, SciPy, pandas and scikit-learn (a
typical experiment's process), then times, in alternating order:

* ``imported_distributions()`` (what crystallize records: the version of every imported
  distribution), first call in the process and the next call;
* ``importlib.metadata.packages_distributions()`` followed by the same lookup, first call
  and the next call (the standard library answer it is checked against in the tests).

Target: the first call well under 100 ms (at most 50 ms), the next under 5 ms.
Run: ``python benchmarks/bench_provenance.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap

TARGETS = {"first_ms": 50.0, "next_ms": 5.0}

PROBE = textwrap.dedent('''
    import json, sys, time
    import numpy, scipy.stats, pandas, sklearn.linear_model
    from importlib import metadata
    from crystallize.core.provenance import imported_distributions

    def ours():
        return imported_distributions()

    def stdlib():
        mapping = metadata.packages_distributions()
        names = {d for n in list(sys.modules) if "." not in n for d in mapping.get(n, ())}
        return {name: metadata.version(name) for name in names}

    fn = ours if sys.argv[1] == "ours" else stdlib
    times = []
    for _ in range(2):
        start = time.perf_counter()
        found = fn()
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"first": times[0], "next": times[1], "count": len(found)}))
''')


def measure(kind: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PROBE, kind], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "stdlib": []}
    for i in range(rounds):
        for kind in (("ours", "stdlib") if i % 2 == 0 else ("stdlib", "ours")):
            runs[kind].append(measure(kind))
    med = {kind: {key: statistics.median(r[key] for r in rs) for key in ("first", "next", "count")}
           for kind, rs in runs.items()}
    print(f"imported distributions recorded: {med['ours']['count']:.0f} (packages_distributions: "
          f"{med['stdlib']['count']:.0f})")
    print(f"first call: {med['ours']['first']:.1f} ms (packages_distributions + versions: "
          f"{med['stdlib']['first']:.1f} ms, ratio {med['stdlib']['first'] / med['ours']['first']:.1f}x); "
          f"target <= {TARGETS['first_ms']:.0f} ms")
    print(f"next call:  {med['ours']['next']:.2f} ms (packages_distributions + versions: "
          f"{med['stdlib']['next']:.1f} ms); target <= {TARGETS['next_ms']:.0f} ms")
    ok = med["ours"]["first"] <= TARGETS["first_ms"] and med["ours"]["next"] <= TARGETS["next_ms"]
    print("OK" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
