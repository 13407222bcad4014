"""Chaos 12.2: a store, cache or artifacts folder other users can write is refused, like
ssh refuses such a ~/.ssh; what the store creates is owner-only."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from crystallize import Experiment, PipelineStep, Treatment
from crystallize.store import InsecureStoreError, SQLiteStore

from ..store.conftest import LoggedSource, Planted, log_dir, make, store_path  # noqa: F401 - fixtures

root_only = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="chown needs root")


class Cached(PipelineStep):
    cacheable = True

    def __call__(self, data, ctx):
        return {"score": data + ctx.get("shift", 0.0)}


class Saver(PipelineStep):
    def __call__(self, data, ctx):
        ctx.artifacts.save("model", {"w": data})
        return {"score": data}


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_world_writable_store_folder_is_refused_before_any_run(store_path, log_dir):
    store_path.mkdir()
    os.chmod(store_path, 0o777)
    with pytest.raises(InsecureStoreError) as caught:
        make(log_dir).run(store=store_path, progress=False)
    message = str(caught.value)
    assert str(store_path) in message and f"chmod go-w {store_path}" in message and "writable by everyone" in message
    assert list(log_dir.iterdir()) == [] and not (store_path / "store.db").exists()


def test_a_group_writable_store_folder_of_a_shared_group_is_refused(store_path, log_dir):
    store_path.mkdir()
    os.chmod(store_path, 0o770)
    if os.geteuid() == 0:
        os.chown(store_path, -1, 54_321)  # a group no user is known to belong to alone
    else:
        pytest.skip("chgrp to a shared group needs root")
    with pytest.raises(InsecureStoreError, match="writable by its group"):
        make(log_dir).run(store=store_path, progress=False)


@root_only
def test_a_store_folder_owned_by_another_user_is_refused(store_path, log_dir):
    store_path.mkdir(mode=0o700)
    os.chown(store_path, 12_345, 12_345)
    with pytest.raises(InsecureStoreError) as caught:
        make(log_dir).run(store=store_path, progress=False)
    assert "owned by" in str(caught.value) and f"chown root {store_path}" in str(caught.value)
    assert list(log_dir.iterdir()) == []


def test_a_planted_cache_entry_in_a_world_writable_cache_is_never_unpickled(store_path, log_dir, tmp_path):
    experiment = Experiment(LoggedSource(str(log_dir)), [Cached()], [Treatment("t", {"shift": 1.0})],
                            replicates=2, seed=4, name="cached")
    experiment.run(store=store_path, progress=False)
    cache = store_path / "cache"
    entries = list(cache.glob("*/*.entry"))
    assert entries
    os.chmod(cache, 0o777)  # a shared project folder: another user replaces every entry
    marker = tmp_path / "pwned"
    for entry in entries:
        entry.write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(InsecureStoreError, match=r"step cache folder .*writable by everyone"):
        experiment.run(store=store_path, progress=False)
    assert not marker.exists()


def test_a_world_writable_folder_inside_the_cache_fails_the_runs_without_unpickling(store_path, log_dir, tmp_path):
    from crystallize.store.cache import _HEADER, _MAGIC  # the entry format, to plant a well-formed entry
    import zlib

    experiment = Experiment(LoggedSource(str(log_dir)), [Cached()], replicates=2, seed=4, name="cached")
    experiment.run(store=store_path, progress=False)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Planted(marker))
    for entry in (store_path / "cache").glob("*/*.entry"):
        os.chmod(entry.parent, 0o777)
        entry.write_bytes(_HEADER.pack(_MAGIC, zlib.crc32(payload), len(payload)) + payload)
    result = experiment.run(store=store_path, progress=False)
    assert not marker.exists()
    assert result.errors and all("refusing to use" in e.message and "chmod go-w" in e.message
                                 for e in result.errors.values())


def test_a_world_writable_artifacts_folder_is_refused(store_path, log_dir):
    (store_path / "artifacts").mkdir(parents=True)
    os.chmod(store_path, 0o700)
    os.chmod(store_path / "artifacts", 0o777)
    with pytest.raises(InsecureStoreError, match=r"artifacts folder .*writable by everyone"):
        Experiment(LoggedSource(str(log_dir)), [Saver()], replicates=1, seed=1).run(store=store_path, progress=False)


def test_a_planted_artifact_is_refused_by_the_reader(store_path, log_dir, tmp_path):
    import crystallize.store

    result = Experiment(LoggedSource(str(log_dir)), [Saver()], replicates=1, seed=1).run(
        store=store_path, progress=False)
    folder = store_path / "artifacts" / result.run_id / "baseline" / "0"
    os.chmod(folder, 0o777)
    marker = tmp_path / "pwned"
    (folder / "model").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(InsecureStoreError, match="chmod go-w"):
        crystallize.store.open(store_path).load_artifact(result.run_id, "baseline", 0, "model")
    assert not marker.exists()


def test_the_store_creates_its_folders_and_database_owner_only(tmp_path, log_dir, umask_022):
    store_path = tmp_path / "nested" / "store"
    store = SQLiteStore(store_path)
    experiment = make(log_dir)
    store.begin({"experiment": experiment, "provenance": experiment.provenance()}, experiment.plan(), resume=False)
    database = store_path / "store.db"
    try:
        assert _mode(store_path) == 0o700 and _mode(tmp_path / "nested") == 0o700
        assert _mode(database) == 0o600
        for suffix in ("-wal", "-shm"):  # they exist while the database is open
            assert _mode(Path(f"{database}{suffix}")) == 0o600
    finally:
        store.close()
    result = Experiment(LoggedSource(str(log_dir)), [Cached(), ], replicates=1, seed=1).run(
        store=store_path, progress=False)
    assert result.errors == {}
    result = Experiment(LoggedSource(str(log_dir)), [Saver()], replicates=1, seed=1).run(
        store=store_path, progress=False)
    cache_folders = [store_path / "cache", *(p for p in (store_path / "cache").iterdir() if p.is_dir())]
    artifact = store_path / "artifacts" / result.run_id / "baseline" / "0"
    artifact_folders = [store_path / "artifacts", artifact.parent.parent, artifact.parent, artifact]
    assert {_mode(p) for p in cache_folders + artifact_folders} == {0o700}
    assert _mode(database) == 0o600
