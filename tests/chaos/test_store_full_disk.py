"""Chaos 12.9 and 12.10: a store that fails mid-run (a full disk, any SQLite failure, a
database deleted or replaced) never loses the computed result nor reports success."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from crystallize import DataSource, Experiment, Hypothesis, PipelineStep, Treatment
from crystallize.core.stat_test import WelchTTest
from crystallize.store import StoreWriteError

from ..store.conftest import store_path  # noqa: F401 - fixture


class Noise(DataSource):
    def fetch(self, ctx):
        return float(ctx.rng.normal())


class ManyMetrics(PipelineStep):
    """Ten metrics per run, so that a few thousand runs fill a small disk."""

    def __call__(self, data, ctx):
        return {f"metric_{i}": data * i + ctx.get("shift", 0.0) for i in range(10)}


class Sabotage(PipelineStep):
    """At baseline replicate ``at``, does something to the store (once)."""

    def __init__(self, at: int, action: str, store: str) -> None:
        self.at = at
        self.action = action
        self.store = store

    def __call__(self, data, ctx):
        if ctx["replicate"] == self.at and ctx["condition"] == "baseline":
            database = Path(self.store) / "store.db"
            if self.action == "delete":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{database}{suffix}").unlink(missing_ok=True)
            elif self.action == "replace":
                copy = database.with_name("copy.db")
                shutil.copyfile(database, copy)
                os.replace(copy, database)
            else:
                _FAULT["full"] = True
        return data


_FAULT = {"full": False}


def _experiment(replicates: int, *steps: PipelineStep) -> Experiment:
    return Experiment(Noise(), [*steps, ManyMetrics()], [Treatment("shifted", {"shift": 1.0})],
                      hypothesis=Hypothesis("metric_1", WelchTTest(), direction="increase"),
                      replicates=replicates, seed=3, name="big")


def _assert_kept(error: StoreWriteError, database: Path, runs: int) -> None:
    result = error.result
    assert result is not None and len(result.records) == runs and all(r.ok for r in result.records)
    assert result.verdicts and result.metrics["hypothesis"]["accepted"] is True
    assert str(database) in str(error) and ".result" in str(error)
    assert error.path == str(database)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB file system (tmpfs) mounted for the test: a real full disk."""
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_keeps_the_whole_result_on_the_error_and_names_the_store(tiny_disk, caplog):
    store = tiny_disk / "store"
    with pytest.raises(StoreWriteError) as caught:
        _experiment(1500).run(store=store, progress=False)
    _assert_kept(caught.value, store / "store.db", 3000)
    assert "disk is full" in str(caught.value)
    assert "could not record runs in" in caplog.text  # said once when it happened, the experiment went on


def test_any_sqlite_failure_mid_run_keeps_the_result(store_path, monkeypatch):
    real_connect = sqlite3.connect

    class Failing:
        """A connection whose writes fail once the fault is on (``SQLITE_FULL`` at the SQLite layer)."""

        def __init__(self, conn: sqlite3.Connection) -> None:
            self._conn = conn

        def _check(self, sql: str) -> None:
            if _FAULT["full"] and sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                raise sqlite3.OperationalError("database or disk is full")

        def execute(self, sql, params=()):
            self._check(sql)
            return self._conn.execute(sql, params)

        def executemany(self, sql, rows):
            self._check(sql)
            return self._conn.executemany(sql, rows)

        def __getattr__(self, name):
            return getattr(self._conn, name)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: Failing(real_connect(*a, **k)))
    monkeypatch.setitem(_FAULT, "full", False)
    with pytest.raises(StoreWriteError) as caught:
        _experiment(300, Sabotage(20, "full", str(store_path))).run(store=store_path, progress=False)
    _assert_kept(caught.value, store_path / "store.db", 600)
    assert "disk is full" in str(caught.value)


@pytest.mark.parametrize("action, said", [("delete", "deleted"), ("replace", "replaced by another file")])
def test_a_store_deleted_or_replaced_mid_run_fails_loudly_keeping_the_result(store_path, action, said):
    with pytest.raises(StoreWriteError) as caught:
        _experiment(40, Sabotage(10, action, str(store_path))).run(store=store_path, progress=False)
    _assert_kept(caught.value, store_path / "store.db", 80)
    assert f"the database file was {said} while the experiment was running" in str(caught.value)


def test_the_command_saves_the_result_when_the_store_fails(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from crystallize import Result

    (tmp_path / "exp.py").write_text(
        "from pathlib import Path\n"
        "from crystallize import Experiment, data_source, pipeline_step\n"
        "@data_source\ndef source(ctx):\n    return 1\n"
        "@pipeline_step\ndef sabotage(data, ctx):\n"
        "    if ctx['replicate'] == 5:\n        (Path(__file__).parent / 'store' / 'store.db').unlink()\n"
        "    return {'x': float(ctx['replicate'])}\n"
        "experiment = Experiment(source(), [sabotage()], replicates=20, seed=1, name='doomed')\n")
    command = Path(sys.executable).parent / "crystallize"
    done = subprocess.run([str(command), "--store", "store", "run", "exp.py:experiment", "--no-progress"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "was deleted" in done.stderr and "the result (every run) was saved to" in done.stderr
    saved = list(tmp_path.glob("doomed-result-*.json"))
    assert len(saved) == 1 and len(Result.from_json(saved[0]).records) == 20
