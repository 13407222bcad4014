"""Two processes recording experiments into one store at the same time lose nothing,
and share the step cache without tearing an entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from crystallize.store import open as open_store

EXPERIMENT = '''
import sys
import time
from pathlib import Path

import numpy as np

from crystallize import DataSource, Experiment, PipelineStep, Treatment
from crystallize.store import SQLiteStore


class Source(DataSource):
    def fetch(self, ctx):
        return ctx.rng.normal(size=1000)


class Features(PipelineStep):
    cacheable = True

    def __call__(self, data, ctx):
        return np.cumsum(data) * ctx.get("scale", 1.0)


class Score(PipelineStep):
    def __call__(self, data, ctx):
        return {"score": float(data[-1])}


def main(name, store, go, out):
    experiment = Experiment(Source(), [Features(), Score()], [Treatment("scaled", {"scale": 2.0})],
                            replicates=150, seed=3, name=name)
    Path(out + ".ready").touch()
    while not Path(go).exists():
        time.sleep(0.005)
    # one commit per run: as much contention for the write lock as possible
    result = experiment.run(store=SQLiteStore(store, batch_size=1), progress=False)
    result.to_json(out)
'''


def test_two_processes_recording_into_one_store_both_keep_every_run(tmp_path: Path):
    (tmp_path / "twoexp.py").write_text(EXPERIMENT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    store, go = tmp_path / "store", tmp_path / "go"
    children = []
    for name in ("left", "right"):
        args = [name, str(store), str(go), str(tmp_path / f"{name}.json")]
        children.append(subprocess.Popen([sys.executable, "-c", f"import twoexp; twoexp.main(*{args!r})"],
                                         cwd=tmp_path, env=env, stderr=subprocess.PIPE))
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"{name}.json.ready").exists() for name in ("left", "right")):
        assert time.monotonic() < deadline and all(c.poll() is None for c in children)
        time.sleep(0.01)
    go.touch()  # both start at once
    for child in children:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err.decode()

    results = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in ("left", "right")}
    reader = open_store(store)
    runs = {r.name: r for r in reader.experiment_runs()}
    assert set(runs) == {"left", "right"}
    for name, result in results.items():
        info = runs[name]
        assert (info.id, info.status, info.runs_done, info.runs_failed) == (result["run_id"], "completed", 300, 0)
        assert len(reader.load_records(info.id)) == 300
    assert runs["left"].started < runs["right"].finished and runs["right"].started < runs["left"].finished
    left = {(r["condition"], r["replicate"]): r["metrics"] for r in results["left"]["records"]}
    right = {(r["condition"], r["replicate"]): r["metrics"] for r in results["right"]["records"]}
    assert left == right  # cache entries written by both at once were never torn
    assert not [p for p in (store / "cache").rglob("*.tmp")]
