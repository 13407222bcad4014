"""The SQLite file: tables, WAL mode, schema version, and stores from newer versions."""

from __future__ import annotations

import sqlite3

import pytest

import crystallize.store as cs
from crystallize.store import SQLiteStore, StoreNotFoundError, StoreVersionError
from crystallize.store.schema import SCHEMA_VERSION

from .conftest import make


def test_a_run_creates_the_store_layout_with_every_table(store_path, log_dir):
    make(log_dir).run(store=store_path, progress=False)
    assert (store_path / "store.db").is_file()
    conn = sqlite3.connect(store_path / "store.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"experiments", "experiment_runs", "runs", "verdicts"} <= tables
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    assert {"condition", "replicate", "seed", "params", "metrics", "status", "error", "duration", "host",
            "steps"} <= columns
    columns = {r[1] for r in conn.execute("PRAGMA table_info(experiment_runs)")}
    assert {"id", "fingerprint", "status", "started", "finished", "seed", "replicates", "provenance"} <= columns
    columns = {r[1] for r in conn.execute("PRAGMA table_info(experiments)")}
    assert {"fingerprint", "name", "definition", "created"} <= columns


def test_a_store_written_by_a_newer_version_is_refused_by_writer_and_reader(store_path, log_dir):
    make(log_dir).run(store=store_path, progress=False)
    conn = sqlite3.connect(store_path / "store.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreVersionError, match=r"schema version 2, written by a newer crystallize.*Upgrade"):
        make(log_dir).run(store=store_path, progress=False)
    with pytest.raises(StoreVersionError, match="reads schema versions up to 1"):
        cs.open(store_path)


def test_opening_a_missing_store_says_where_it_looked(tmp_path):
    with pytest.raises(StoreNotFoundError, match=r"no crystallize store at .*nowhere.*run an experiment first"):
        cs.open(tmp_path / "nowhere")


def test_an_empty_database_reads_as_an_empty_store(tmp_path):
    sqlite3.connect(tmp_path / "store.db").close()
    store = cs.open(tmp_path)
    assert store.experiments() == [] and store.experiment_runs() == []


def test_a_db_file_path_puts_artifacts_and_cache_beside_it(tmp_path):
    store = SQLiteStore(tmp_path / "mine.db")
    assert store.db_path == tmp_path / "mine.db"
    assert store.cache.root == str(tmp_path / "cache")


def test_resolve_store_maps_each_kind_of_argument(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert isinstance(cs.resolve_store(False), cs.NullStore)
    assert cs.resolve_store(None).root == tmp_path / ".crystallize"
    assert cs.resolve_store(str(tmp_path / "x")).root == tmp_path / "x"
    mine = SQLiteStore(tmp_path / "y")
    assert cs.resolve_store(mine) is mine
    with pytest.raises(TypeError, match="store=3 is not supported; pass None"):
        cs.resolve_store(3)


def test_a_store_path_that_is_a_file_is_refused_with_a_hint(tmp_path):
    from crystallize.store import StoreError, resolve_store

    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        resolve_store(tmp_path / "notes.txt")
