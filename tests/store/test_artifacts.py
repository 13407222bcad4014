"""Artifacts: files a step saves for its run, loaded back later, also across experiment runs."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from crystallize import CrystallizeError, Experiment, PipelineStep, Treatment
from crystallize.core.plan import RunSpec
from crystallize.store import ArtifactFactory, ArtifactNotFoundError, RunIdError
from crystallize.store import open as open_store

from .conftest import LoggedSource, Planted


class SaveThings(PipelineStep):
    """Saves bytes, a copied file and a pickled object, then reads them back."""

    def __init__(self, source_file: str) -> None:
        self.source_file = source_file

    def __call__(self, data, ctx):
        ctx.artifacts.save("raw.bin", b"\x00\x01" + bytes([ctx["replicate"]]))
        ctx.artifacts.save("copied.txt", Path(self.source_file))
        weights = np.arange(3) * (ctx["replicate"] + 1) + ctx.get("offset", 0)
        ctx.artifacts.save("weights", {"w": weights, "condition": ctx["condition"]})
        assert ctx.artifacts.load("weights")["condition"] == ctx["condition"]
        assert ctx.artifacts.load("raw.bin")[-1] == ctx["replicate"]
        return {"score": float(weights.sum())}


class LoadEarlier(PipelineStep):
    """Reads the weights an earlier experiment run saved for the same condition and replicate."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def __call__(self, data, ctx):
        earlier = ctx.artifacts.load("weights", run_id=self.run_id, condition="baseline")
        return {"score": float(earlier["w"].sum())}


@pytest.fixture
def source_file(tmp_path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    return path


def _run_saving(store_path, log_dir, source_file):
    experiment = Experiment(LoggedSource(str(log_dir)), [SaveThings(str(source_file))],
                            [Treatment("offset", {"offset": 10})], replicates=2, seed=3, name="saver")
    return experiment.run(store=store_path, progress=False)


def test_saved_artifacts_land_in_the_run_folder_and_are_listed_in_the_record(store_path, log_dir, source_file):
    result = _run_saving(store_path, log_dir, source_file)
    assert result.errors == {}
    for record in result.records:
        assert record.artifacts == ("raw.bin", "copied.txt", "weights")
        folder = store_path / "artifacts" / result.run_id / record.condition / str(record.replicate)
        assert (folder / "copied.txt").read_text() == "hello"
        assert (folder / "raw.bin").read_bytes() == b"\x00\x01" + bytes([record.replicate])
    loaded = open_store(store_path).load_records(result.run_id)
    assert all(r.artifacts == ("raw.bin", "copied.txt", "weights") for r in loaded)


def test_the_store_reads_artifacts_back_by_run_id_prefix(store_path, log_dir, source_file):
    result = _run_saving(store_path, log_dir, source_file)
    store = open_store(store_path)
    weights = store.load_artifact(result.run_id[:5], "offset", 1, "weights")
    np.testing.assert_array_equal(weights["w"], np.arange(3) * 2 + 10)
    assert store.load_artifact(result.run_id, "baseline", 0, "copied.txt") == b"hello"
    path = store.artifact_path(result.run_id, "baseline", 1, "raw.bin")
    assert path == store_path / "artifacts" / result.run_id / "baseline" / "1" / "raw.bin"
    with pytest.raises(ArtifactNotFoundError, match=r"no artifact 'model' in .*artifacts there: 'copied.txt', "
                                                    r"'raw.bin', 'weights'"):
        store.load_artifact(result.run_id, "baseline", 0, "model")


def test_a_later_experiment_loads_an_earlier_runs_artifact_from_inside_a_step(store_path, log_dir, source_file):
    earlier = _run_saving(store_path, log_dir, source_file)
    later = Experiment(LoggedSource(str(log_dir)), [LoadEarlier(earlier.run_id[:7])], replicates=2, seed=3,
                       name="loader").run(store=store_path, progress=False)
    assert later.errors == {}
    assert later.metrics["baseline"]["score"] == [3.0, 6.0]


def test_an_unknown_earlier_run_fails_the_run_with_a_clear_message(store_path, log_dir, source_file):
    _run_saving(store_path, log_dir, source_file)
    result = Experiment(LoggedSource(str(log_dir)), [LoadEarlier("nope")], replicates=1, seed=3).run(
        store=store_path, progress=False)
    assert result.errors["baseline/0"].type == "RunIdError"
    assert "no experiment run has an id starting with 'nope'" in result.errors["baseline/0"].message


def test_the_factory_pickles_and_names_are_checked(store_path):
    factory = pickle.loads(pickle.dumps(ArtifactFactory(str(store_path), "abc123")))
    sink = factory(RunSpec("a b/c", 2, 9))
    assert sink.folder == store_path / "artifacts" / "abc123" / "a b%2Fc" / "2"
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(CrystallizeError, match="is not valid: use a plain file name"):
            sink.save(bad, b"x")
    assert sink.saved == []
    sink.save("ok", "a string is pickled")
    assert sink.load("ok") == "a string is pickled" and sink.saved == ["ok"]
    with pytest.raises(RunIdError):
        sink.load("ok", run_id="zzz")


def test_without_a_store_saving_an_artifact_fails_the_run_with_advice(log_dir, source_file):
    result = Experiment(LoggedSource(str(log_dir)), [SaveThings(str(source_file))], replicates=1, seed=3).run(
        store=False, progress=False)
    assert "this run has no store" in result.errors["baseline/0"].message


class _LoadNamed(PipelineStep):
    def __init__(self, run_id: str, artifact: str) -> None:
        self.run_id = run_id
        self.artifact = artifact

    def __call__(self, data, ctx):
        ctx.artifacts.load(self.artifact, run_id=self.run_id)
        return {"score": data}


def test_the_reader_refuses_a_run_id_that_climbs_out_of_the_store(store_path, log_dir, source_file, tmp_path):
    import json

    _run_saving(store_path, log_dir, source_file)
    folder = tmp_path / "elsewhere" / "baseline" / "0"
    folder.mkdir(parents=True)
    (folder / "weights").write_bytes(pickle.dumps(Planted(tmp_path / "pwned")))
    (folder / ".index.json").write_text(json.dumps({"weights": "pickle"}))
    with pytest.raises(RunIdError):
        open_store(store_path).load_artifact("../../elsewhere", "baseline", 0, "weights")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", ["../weights", "../../../x", "/etc/passwd", "a/../../b", "..", ".index.json"])
def test_artifact_names_cannot_climb_out_of_the_run_folder(store_path, log_dir, source_file, name):
    saved = _run_saving(store_path, log_dir, source_file)
    result = Experiment(LoggedSource(str(log_dir)), [_LoadNamed(saved.run_id, name)], replicates=1, seed=3,
                        name="loader").run(store=store_path, progress=False)
    assert "is not valid: use a plain file name" in result.errors["baseline/0"].message
    with pytest.raises(CrystallizeError, match="is not valid"):
        open_store(store_path).load_artifact(saved.run_id, "baseline", 0, name)
