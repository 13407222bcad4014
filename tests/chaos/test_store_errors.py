"""Chaos 12.21 (the store's share): one-line errors naming the path or the run for an empty
store path, a corrupt or read-only database, a bad JSON cell and a damaged write-ahead log;
never a raw sqlite3 traceback, never runs that silently vanish."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

import crystallize.store
from crystallize import Result
from crystallize.store import StoreDamagedError, StoreError

from ..store.conftest import crash_image, flip_byte, log_dir, make, store_path  # noqa: F401 - fixtures


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text, text
    return text


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_store_path_is_refused_instead_of_writing_into_the_current_folder(tmp_path, log_dir, monkeypatch,
                                                                                   empty):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(StoreError) as caught:
        make(log_dir).run(store=empty, progress=False)
    assert f"store={empty!r} is empty" in _one_line(caught.value) and "False to record nothing" in str(caught.value)
    assert list(work.iterdir()) == [] and list(log_dir.iterdir()) == []


def test_a_file_that_is_no_database_is_named_on_run_resume_and_open(store_path, log_dir):
    store_path.mkdir()
    database = store_path / "store.db"
    database.write_bytes(b"this is not a database at all, just text " * 100)
    for attempt in (lambda: make(log_dir).run(store=store_path, progress=False, resume=True),
                    lambda: make(log_dir).run(store=store_path, progress=False),
                    lambda: crystallize.store.open(store_path)):
        with pytest.raises(StoreDamagedError) as caught:
            attempt()
        text = _one_line(caught.value)
        assert f"the store {database} is damaged" in text and f"mv {database} {database}.damaged" in text
        assert not isinstance(caught.value, sqlite3.Error)


@pytest.fixture
def read_only_store(tmp_path, store_path, log_dir):
    """A store with one finished experiment run, on a file system then made read-only."""
    if os.name != "posix" or os.geteuid() != 0:  # root writes through permission bits: needs a read-only mount
        make(log_dir).run(store=store_path, progress=False)
        os.chmod(store_path / "store.db", 0o400)
        os.chmod(store_path, 0o500)
        yield store_path
        os.chmod(store_path, 0o700)
        return
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount_point)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        make(log_dir).run(store=mount_point / "store", progress=False)
        subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
        yield mount_point / "store"
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_read_only_store_is_named_on_resume(read_only_store, log_dir):
    with pytest.raises(StoreError) as caught:
        make(log_dir).run(store=read_only_store, progress=False, resume=True)
    text = _one_line(caught.value)
    assert str(read_only_store) in text and ("read-only" in text or "cannot open" in text)
    assert not isinstance(caught.value, sqlite3.Error)


def _set_cell(database: Path, sql: str, params: tuple) -> None:
    conn = sqlite3.connect(database)
    with conn:
        conn.execute(sql, params)
    conn.close()


def test_a_bad_json_cell_names_the_run_on_load_and_on_resume(store_path, log_dir):
    result = make(log_dir).run(store=store_path, progress=False)
    database = store_path / "store.db"
    _set_cell(database, "UPDATE runs SET metrics = '{\"score\": 1.0' WHERE condition = 'baseline' AND replicate = 1",
              ())
    for attempt in (lambda: Result.load(result.run_id, store_path),
                    lambda: crystallize.store.open(store_path).load_records(result.run_id),
                    lambda: make(log_dir).run(store=store_path, progress=False, resume=True)):
        with pytest.raises(StoreDamagedError) as caught:
            attempt()
        text = _one_line(caught.value)
        assert str(database) in text and f"experiment run {result.run_id}, run baseline/1" in text
        assert "metrics cell is not valid JSON" in text


def test_a_bad_provenance_cell_names_the_experiment_run(store_path, log_dir):
    result = make(log_dir).run(store=store_path, progress=False)
    _set_cell(store_path / "store.db", "UPDATE experiment_runs SET provenance = 'oops'", ())
    with pytest.raises(StoreDamagedError, match=f"experiment run {result.run_id}: its provenance cell"):
        Result.load(result.run_id, store_path)


@pytest.mark.parametrize("where", ["header", "frame"])
def test_a_damaged_write_ahead_log_is_reported_instead_of_silently_dropping_runs(store_path, log_dir, tmp_path,
                                                                                 where):
    image = crash_image(store_path, log_dir, tmp_path)
    wal = image / "store.db-wal"
    flip_byte(wal, 20 if where == "header" else 32 + 3 * (24 + 4096) + 500)
    with pytest.raises(StoreDamagedError) as caught:
        crystallize.store.open(image).experiment_runs()
    text = _one_line(caught.value)
    assert f"the store {image / 'store.db'} is damaged" in text and "write-ahead log" in text
    assert f"cp -a {image} {image}.damaged" in text
    with pytest.raises(StoreDamagedError):
        make(log_dir, replicates=40).run(store=image, progress=False, resume=True)
    assert wal.stat().st_size > 10_000  # left as it was, for whoever repairs it
