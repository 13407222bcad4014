"""The source of the experiment's own modules is kept with each run (each text once per store), so
`crystallize show RUN --code` prints the code that produced an old run after the files changed."""

from __future__ import annotations

import importlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crystallize import Experiment, Hypothesis, PairedTTest, Treatment
import crystallize.store

COMMAND = Path(sys.executable).with_name("crystallize")

HELPERS = '''
def bonus(x):
    return x * 2.0
'''

STEPS = '''
from crystallize import data_source, pipeline_step
import codekeep_helpers


@data_source
def draws(ctx):
    return ctx.rng.normal(0.0, 1.0, 20)


@pipeline_step
def measure(data, *, shift=0.0):
    # version one
    return {"value": float(data.mean() * (1 + shift) + codekeep_helpers.bonus(shift))}
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder with the experiment's module and a helper module it calls, imported from there."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "codekeep_helpers.py").write_text(HELPERS)
    (folder / "codekeep_steps.py").write_text(STEPS)
    monkeypatch.syspath_prepend(str(folder))
    for name in ("codekeep_steps", "codekeep_helpers"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield folder
    for name in ("codekeep_steps", "codekeep_helpers"):
        sys.modules.pop(name, None)


def experiment() -> Experiment:
    steps = importlib.import_module("codekeep_steps")
    return Experiment(datasource=steps.draws(), pipeline=[steps.measure()],
                      treatments=[Treatment("up", {"shift": 0.5})],
                      hypotheses=[Hypothesis("value", PairedTTest(), direction="increase")], replicates=3, seed=5,
                      name="code-kept")


def test_the_modules_the_fingerprint_follows_are_kept_with_the_run(project, tmp_path):
    result = experiment().run(store=str(tmp_path / "store"))
    with crystallize.store.open(tmp_path / "store") as store:
        files = store.code_files(result.run_id[:8])
    assert [(Path(f.path).name, f.module) for f in files] == [("codekeep_steps.py", "codekeep_steps"),
                                                               ("codekeep_helpers.py", "codekeep_helpers")]
    assert files[0].text == STEPS and files[1].text == HELPERS
    assert all("crystallize" not in f.module for f in files)  # installed code is not kept: its version is


def test_each_text_is_stored_once_however_many_runs_share_it(project, tmp_path):
    store = tmp_path / "store"
    first = experiment().run(store=str(store))
    second = Experiment(**{**_parts(experiment()), "seed": 6}).run(store=str(store))
    assert first.run_id != second.run_id
    with sqlite3.connect(store / "store.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM code_files").fetchone()[0] == 4
        assert conn.execute("SELECT COUNT(*) FROM code_texts").fetchone()[0] == 2


def _parts(e: Experiment) -> dict:
    return {"datasource": e.datasource, "pipeline": e.pipeline, "treatments": e.treatments,
            "hypotheses": e.hypotheses, "replicates": e.replicates, "name": e.name}


def test_a_store_made_before_code_was_kept_gains_the_tables_and_says_so(project, tmp_path):
    store = tmp_path / "store"
    old = experiment().run(store=str(store))
    with sqlite3.connect(store / "store.db") as conn:  # as an earlier version wrote it
        conn.execute("DROP TABLE code_files")
        conn.execute("DROP TABLE code_texts")
    with crystallize.store.open(store) as reader:
        assert reader.code_files(old.run_id) == []
    new = experiment().run(store=str(store), resume=True)  # opening it to write adds the tables
    with crystallize.store.open(store) as reader:
        assert [Path(f.path).name for f in reader.code_files(new.run_id)] == ["codekeep_steps.py",
                                                                              "codekeep_helpers.py"]


@pytest.mark.skipif(not COMMAND.exists(), reason="the crystallize command is not installed")
def test_show_code_prints_the_code_of_an_old_run_after_the_file_changed(project, tmp_path):
    store = tmp_path / "store"
    result = experiment().run(store=str(store))
    (project / "codekeep_steps.py").write_text(STEPS.replace("# version one", "# version two"))
    done = subprocess.run([str(COMMAND), "--store", str(store), "show", result.run_id[:8], "--code"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "# version one" in done.stdout and "# version two" not in done.stdout
    header = next(line for line in done.stdout.splitlines() if "codekeep_steps.py" in line)
    assert header.startswith("# ---- ") and "(codekeep_steps)" in header and "the file on disk has changed" in header
    assert textwrap.dedent(HELPERS).strip() in done.stdout
    assert done.stdout.rstrip().endswith(f"# run id: {result.run_id}")


@pytest.mark.skipif(not COMMAND.exists(), reason="the crystallize command is not installed")
def test_show_code_of_a_run_without_own_modules_says_why(tmp_path):
    from crystallize import data_source, pipeline_step

    @data_source
    def local(ctx):
        return 1.0

    @pipeline_step
    def out(data):
        return {"value": data}

    # defined in this test module: a file of the project, so kept; a run with no such file says so
    result = Experiment(datasource=local(), pipeline=[out()], replicates=1, seed=1).run(store=str(tmp_path / "s"))
    with sqlite3.connect(tmp_path / "s" / "store.db") as conn:
        conn.execute("DELETE FROM code_files")
    done = subprocess.run([str(COMMAND), "--store", str(tmp_path / "s"), "show", result.run_id, "--code"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "has no code kept with it" in done.stdout
