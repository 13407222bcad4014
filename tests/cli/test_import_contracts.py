"""The layering contracts hold with no exceptions: experiment files are read below the command line
(``crystallize.config``), and ``Result.load`` reaches the store only through the opener the package's
top level gives it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from crystallize import Experiment, Result, data_source, pipeline_step
from crystallize.core import result as result_module
from crystallize.core.exceptions import CrystallizeError

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("crystallize")


def test_no_contract_allows_an_exception() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert all("ignore_imports" not in contract for contract in config["contracts"])


@pytest.mark.skipif(LINT_IMPORTS is None, reason="import-linter is not installed")
def test_lint_imports_keeps_every_contract() -> None:
    done = subprocess.run([str(LINT_IMPORTS)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_model_reaches_neither_the_command_line_nor_the_store(graph: grimp.ImportGraph) -> None:
    assert graph.find_shortest_chain("crystallize.core.experiment", "crystallize.cli") is None
    for module in graph.find_children("crystallize.cli") | {"crystallize.cli"}:
        assert graph.find_shortest_chain("crystallize.core.experiment", module) is None, module
    for module in graph.find_descendants("crystallize.store") | {"crystallize.store"}:
        assert graph.find_shortest_chain("crystallize.core.result", module) is None, module
    # YAML loading imports the model's parts, never the experiment: no cycle through from_yaml
    assert "crystallize.config" in graph.find_modules_directly_imported_by("crystallize.core.experiment")
    for module in graph.find_descendants("crystallize.config"):
        assert graph.find_shortest_chain(module, "crystallize.core.experiment") is None, module


def test_no_import_is_hidden_from_the_linter() -> None:
    for name in ("core/result.py", "core/experiment.py"):
        source = (ROOT / "src" / "crystallize" / name).read_text()
        assert "importlib" not in source and "__import__" not in source, name


@data_source
def _zeros(ctx):  # type: ignore[no-untyped-def]
    return 0.0


@pipeline_step
def _replicate(data, ctx):  # type: ignore[no-untyped-def]
    return {"x": float(ctx["replicate"])}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    folder = tmp_path_factory.mktemp("load") / "store"
    result = Experiment(datasource=_zeros(), pipeline=[_replicate()], replicates=3, seed=1, name="l").run(
        store=str(folder), progress=False)
    return folder, result


def test_result_load_works_from_a_fresh_process_that_imports_only_the_result(stored: tuple[Path, Result]) -> None:
    folder, result = stored
    code = ("import sys\nfrom crystallize.core.result import Result\n"
            "assert 'crystallize.store' not in sys.modules  # the store loads only when a run is read\n"
            f"loaded = Result.load({result.run_id[:6]!r}, {str(folder)!r})\n"
            "print(loaded.run_id, loaded.metrics['baseline']['x'])\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1) == [result.run_id, "[0.0, 1.0, 2.0]\n"]


def test_result_load_takes_an_open_store_or_any_reader(stored: tuple[Path, Result]) -> None:
    import crystallize.store

    folder, result = stored
    with crystallize.store.open(folder) as store:
        assert Result.load(result.run_id, store).metrics == result.metrics

    class Reader:
        def load_result(self, run_id: str) -> Result:
            return result if run_id == "mine" else Result("other", (), ())

    assert Result.load("mine", Reader()) is result


def test_without_an_opener_load_says_what_to_pass(stored: tuple[Path, Result],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder, result = stored
    monkeypatch.setattr(result_module, "_store_opener", None)
    with pytest.raises(CrystallizeError, match="pass an opened store instead"):
        Result.load(result.run_id, folder)
