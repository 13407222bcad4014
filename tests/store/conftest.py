"""Small experiments for the store tests; each run leaves a file in a log folder
so a test can count which runs really executed."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from crystallize import DataSource, Experiment, Hypothesis, PipelineStep, Treatment
from crystallize.core.record import RunRecord
from crystallize.core.stat_test import WelchTTest
from crystallize.store import SQLiteStore


class LoggedSource(DataSource):
    """Draws from the run's generator and leaves ``<condition>-<replicate>-<uuid>`` in ``log_dir``."""

    def __init__(self, log_dir: str, fail_marker: str = "") -> None:
        self.log_dir = log_dir
        self.fail_marker = fail_marker

    def fetch(self, ctx):
        (Path(self.log_dir) / f"{ctx['condition']}-{ctx['replicate']}-{uuid.uuid4().hex}").touch()
        if self.fail_marker and Path(self.fail_marker).exists() and ctx["replicate"] == 1:
            raise RuntimeError("flaky replicate 1")
        return float(ctx.rng.normal())


class Shift(PipelineStep):
    def __init__(self, amount: float = 0.0) -> None:
        self.amount = amount

    def __call__(self, data, ctx):
        return {"score": data + self.amount + ctx.get("shift", 0.0)}


class Planted:
    """A pickle someone else leaves where the store would load it: loading it creates
    ``marker`` (it could run any code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def executions(log_dir: Path) -> dict[tuple[str, int], int]:
    """How often each (condition, replicate) executed, from the files in ``log_dir``."""
    counts: dict[tuple[str, int], int] = {}
    for path in log_dir.iterdir():
        condition, replicate, _ = path.name.rsplit("-", 2)
        counts[(condition, int(replicate))] = counts.get((condition, int(replicate)), 0) + 1
    return counts


def make(log_dir: Path, *, replicates: int = 4, seed: int | None = 5, shift: float = 1.0, amount: float = 0.0,
         name: str = "shift", fail_marker: str = "", treatments=None) -> Experiment:
    return Experiment(
        datasource=LoggedSource(str(log_dir), fail_marker),
        pipeline=[Shift(amount)],
        treatments=treatments if treatments is not None else [Treatment("shifted", {"shift": shift})],
        hypothesis=Hypothesis("score", WelchTTest(), direction="increase"),
        replicates=replicates,
        seed=seed,
        name=name,
    )


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "executions"
    path.mkdir()
    return path


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def load_module(tmp_path: Path):
    """Write ``source`` as a module file and import it (a fresh module each call)."""
    counter = iter(range(1_000_000))
    names: list[str] = []

    def load(source: str, name: str = "userexp"):
        folder = tmp_path / f"modules{next(counter)}"
        folder.mkdir()
        path = folder / f"{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in names:
        sys.modules.pop(name, None)


def crash_image(store_path: Path, log_dir: Path, tmp_path: Path) -> Path:
    """The store as a process killed mid-run leaves it: every committed run still in the WAL."""
    store = SQLiteStore(store_path, batch_size=5)
    experiment = make(log_dir, replicates=40)
    store.begin({"experiment": experiment, "provenance": experiment.provenance()}, experiment.plan(), resume=False)
    for spec in experiment.plan():
        store.on_run_complete(RunRecord(spec.condition, spec.replicate, spec.seed, "ok", {"score": 1.0},
                                        steps=({"name": "x" * 200},)))
    store.flush()
    image = tmp_path / "image"
    image.mkdir(mode=0o700)
    for suffix in ("", "-wal"):  # copied while the writer is still open, as a crash leaves them
        shutil.copyfile(f"{store_path / 'store.db'}{suffix}", f"{image / 'store.db'}{suffix}")
    store.close()
    assert os.path.getsize(image / "store.db-wal") > 10_000
    return image


def flip_byte(path: Path, offset: int) -> None:
    """Invert the byte at ``offset`` of ``path``."""
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


RESUME_SCRIPT = textwrap.dedent('''
    import os, sys, time, uuid
    from pathlib import Path
    from crystallize import DataSource, Experiment, PipelineStep, Treatment

    class Logged(DataSource):
        def fetch(self, ctx):
            (Path(os.environ["LEASE_LOG"]) / f"{ctx['condition']}-{ctx['replicate']}-{uuid.uuid4().hex}").touch()
            return float(ctx["replicate"])

    class WaitForGo(PipelineStep):
        def __call__(self, data, ctx):
            if ctx["replicate"] >= 2:  # the new replicates wait until the test says go
                deadline = time.monotonic() + 120
                while not Path(os.environ["LEASE_GO"]).exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            return {"score": data + ctx.get("shift", 0.0)}

    if __name__ == "__main__":
        experiment = Experiment(Logged(), [WaitForGo()], [Treatment("shifted", {"shift": 1.0})],
                                replicates=int(sys.argv[1]), seed=5, name="leased")
        result = experiment.run(store=os.environ["LEASE_STORE"], progress=False, resume=True)
        print("done", len(result.records), flush=True)
''')


@pytest.fixture
def resume_process(tmp_path, log_dir, store_path):
    """Start the experiment script with ``replicates`` (resume=True) in a new process."""
    script = tmp_path / "leased.py"
    script.write_text(RESUME_SCRIPT)
    env = {**os.environ, "LEASE_LOG": str(log_dir), "LEASE_STORE": str(store_path),
           "LEASE_GO": str(tmp_path / "go")}

    def start(replicates: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(script), str(replicates)], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    return start


def wait_for(condition, timeout: float = 120.0) -> None:
    """Poll ``condition()`` until it is true (fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
