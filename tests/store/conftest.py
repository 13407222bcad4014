"""Small experiments for the store tests; each run leaves a file in a log folder
so a test can count which runs really executed."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path

import pytest

from crystallize import DataSource, Experiment, Hypothesis, PipelineStep, Treatment
from crystallize.core.stat_test import WelchTTest


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
