"""Chaos 12.4: an artifact's run id is looked up in the store's database, never joined to a
path as given; conditions and replicates cannot leave the store either (names were already
checked: see tests/store/test_artifacts.py)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

import crystallize.store
from crystallize import Experiment, PipelineStep
from crystallize.store import RunIdError

from ..store.conftest import LoggedSource, Planted, log_dir, store_path  # noqa: F401 - fixtures


class LoadFrom(PipelineStep):
    def __init__(self, run_id: str, name: str = "model", condition: str | None = None,
                 replicate: object = None) -> None:
        self.run_id = run_id
        self.artifact = name
        self.condition = condition
        self.replicate = replicate

    def __call__(self, data, ctx):
        where = {k: v for k, v in (("condition", self.condition), ("replicate", self.replicate)) if v is not None}
        ctx.artifacts.load(self.artifact, run_id=self.run_id, **where)
        return {"score": data}


class Saver(PipelineStep):
    def __call__(self, data, ctx):
        ctx.artifacts.save("model", {"w": data})
        return {"score": data}


def _plant(folder: Path, marker: Path) -> None:
    """An artifact folder as the store writes one, holding a pickle that leaves ``marker``."""
    folder.mkdir(parents=True)
    (folder / "model").write_bytes(pickle.dumps(Planted(marker)))
    (folder / ".index.json").write_text(json.dumps({"model": "pickle"}))


def _run(store_path, log_dir, step):
    return Experiment(LoggedSource(str(log_dir)), [step], replicates=1, seed=1, name="loader").run(
        store=store_path, progress=False)


def test_a_run_id_that_climbs_out_of_the_store_is_refused_and_nothing_is_unpickled(store_path, log_dir, tmp_path):
    _run(store_path, log_dir, Saver())  # a real store with one experiment run
    marker = tmp_path / "pwned"
    _plant(tmp_path / "elsewhere" / "baseline" / "0", marker)  # store/artifacts/../../elsewhere
    result = _run(store_path, log_dir, LoadFrom("../../elsewhere"))
    error = result.errors["baseline/0"]
    assert error.type == "RunIdError" and "'../../elsewhere'" in error.message
    assert not marker.exists()


def test_a_run_folder_that_is_not_in_the_database_is_not_an_experiment_run(store_path, log_dir, tmp_path):
    _run(store_path, log_dir, Saver())
    marker = tmp_path / "pwned"
    _plant(store_path / "artifacts" / "deadbeef0000" / "baseline" / "0", marker)
    result = _run(store_path, log_dir, LoadFrom("deadbeef0000"))
    assert result.errors["baseline/0"].type == "RunIdError"
    with pytest.raises(RunIdError):
        crystallize.store.open(store_path).load_artifact("deadbeef0000", "baseline", 0, "model")
    assert not marker.exists()


def test_conditions_and_replicates_stay_inside_the_run_folder(store_path, log_dir, tmp_path):
    saved = _run(store_path, log_dir, Saver())
    marker = tmp_path / "pwned"
    _plant(store_path / "artifacts" / saved.run_id / "x", marker)  # would be reached by condition "../x" unquoted
    climbing = _run(store_path, log_dir, LoadFrom(saved.run_id, condition="../x", replicate=0))
    assert climbing.errors["baseline/0"].type == "ArtifactNotFoundError"
    bad_replicate = _run(store_path, log_dir, LoadFrom(saved.run_id, replicate="../0"))
    assert "replicate='../0' is not valid" in bad_replicate.errors["baseline/0"].message
    assert not marker.exists()
    ok = _run(store_path, log_dir, LoadFrom(saved.run_id[:6]))  # a unique prefix from the database still works
    assert ok.errors == {}
