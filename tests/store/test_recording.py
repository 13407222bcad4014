"""Every run is recorded as it finishes, in batches, with everything it produced."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from crystallize import Experiment, PipelineStep, RunFailedError, Treatment
from crystallize.core.plan import RunSpec
from crystallize.core.record import RunError, RunRecord
from crystallize.store import SQLiteStore

from .conftest import LoggedSource, Shift, make


class FailOnReplicate2(PipelineStep):
    def __call__(self, data, ctx):
        if ctx["replicate"] == 2:
            raise ValueError("bad replicate")
        return {"score": data}


def _rows(store_path, sql, params=()):
    conn = sqlite3.connect(store_path / "store.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_every_run_is_recorded_with_metrics_params_seed_and_step_provenance(store_path, log_dir):
    result = make(log_dir, replicates=3).run(store=store_path, progress=False)
    rows = _rows(store_path, "SELECT condition, replicate, seed, status, metrics, params, duration, host, steps "
                             "FROM runs WHERE experiment_run_id = ? ORDER BY replicate, condition", (result.run_id,))
    assert len(rows) == 6
    by_key = {(r.condition, r.replicate): r for r in result.records}
    for condition, replicate, seed, status, metrics, params, duration, host, steps in rows:
        record = by_key[(condition, replicate)]
        assert (seed, status, json.loads(metrics)) == (record.seed, "ok", dict(record.metrics))
        assert json.loads(params) == ({"shift": 1.0} if condition == "shifted" else {})
        assert duration == record.duration and host == record.host
        assert json.loads(steps)[0]["name"] == "Shift" and json.loads(steps)[0]["cache"] is None
    (status, seed, replicates, finished), = _rows(
        store_path, "SELECT status, seed, replicates, finished FROM experiment_runs")
    assert (status, seed, replicates) == ("completed", 5, 3) and finished is not None
    (definition,), = _rows(store_path, "SELECT definition FROM experiments")
    assert json.loads(definition)["treatments"] == [{"name": "shifted", "values": {"shift": 1.0}}]
    (verdicts,), = _rows(store_path, "SELECT COUNT(*) FROM verdicts")
    assert verdicts == 1


def test_a_failed_run_is_recorded_with_its_traceback(store_path, log_dir):
    experiment = Experiment(LoggedSource(str(log_dir)), [FailOnReplicate2()], replicates=3, seed=1)
    result = experiment.run(store=store_path, progress=False)
    (status, error), = _rows(store_path, "SELECT status, error FROM runs WHERE replicate = 2")
    error = json.loads(error)
    assert status == "failed"
    assert error["type"] == "ValueError" and error["message"] == "bad replicate"
    assert "Traceback" in error["traceback"] and "raise ValueError(\"bad replicate\")" in error["traceback"]
    assert error["step"] == "FailOnReplicate2"
    assert result.errors["baseline/2"].message == "bad replicate"


def test_fail_fast_marks_the_experiment_run_failed_and_keeps_the_runs_before(store_path, log_dir):
    experiment = Experiment(LoggedSource(str(log_dir)), [FailOnReplicate2()], replicates=4, seed=1)
    with pytest.raises(RunFailedError):
        experiment.run(store=store_path, progress=False, fail_fast=True)
    (status,), = _rows(store_path, "SELECT status FROM experiment_runs")
    assert status == "failed"
    assert _rows(store_path, "SELECT COUNT(*) FROM runs") == [(3,)]  # replicates 0, 1 and the failing 2


def test_store_false_records_nothing_and_the_default_store_lives_in_the_working_directory(
        tmp_path, log_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert make(log_dir).run(store=False, progress=False).run_id is None
    assert not (tmp_path / ".crystallize").exists()
    result = make(log_dir).run(progress=False)
    assert len(result.run_id) == 12 and int(result.run_id, 16) >= 0
    assert _rows(tmp_path / ".crystallize", "SELECT id FROM experiment_runs") == [(result.run_id,)]


def _record(replicate: int) -> RunRecord:
    return RunRecord("baseline", replicate, 7, "ok", {"x": float(replicate)})


def _begin(store: SQLiteStore, log_dir) -> str:
    experiment = make(log_dir)
    run_id, done = store.begin({"experiment": experiment, "provenance": experiment.provenance()},
                               experiment.plan(), resume=False)
    assert done == []
    return run_id


def test_runs_are_committed_in_batches_not_one_by_one(store_path, log_dir):
    store = SQLiteStore(store_path, batch_size=3, flush_interval=3600)
    run_id = _begin(store, log_dir)
    count = "SELECT COUNT(*) FROM runs"
    store.on_run_complete(_record(0))
    store.on_run_complete(_record(1))
    assert _rows(store_path, count) == [(0,)]  # buffered: nothing committed yet
    store.on_run_complete(_record(2))
    assert _rows(store_path, count) == [(3,)]  # the batch is full: committed together
    store.on_run_complete(_record(3))
    store.close()  # closing commits what is buffered
    assert _rows(store_path, count) == [(4,)]
    (status,), = _rows(store_path, "SELECT status FROM experiment_runs WHERE id = ?", (run_id,))
    assert status == "running"  # never finished: the state a crashed process leaves behind


def test_a_lone_buffered_run_is_committed_by_the_timer_without_further_runs(store_path, log_dir):
    store = SQLiteStore(store_path, batch_size=1000, flush_interval=0.05)
    _begin(store, log_dir)
    store.on_run_complete(_record(0))
    deadline = time.monotonic() + 10
    while _rows(store_path, "SELECT COUNT(*) FROM runs") != [(1,)] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _rows(store_path, "SELECT COUNT(*) FROM runs") == [(1,)]
    store.close()


def test_special_metric_values_survive_the_round_trip(store_path, log_dir):
    import numpy as np

    store = SQLiteStore(store_path)
    run_id = _begin(store, log_dir)
    metrics = {"nan": float("nan"), "np": np.float64(0.1), "int": np.int64(3), "arr": np.arange(3), "s": "txt"}
    error = RunError("baseline", 1, "KeyError", "'k'", "Traceback ...", "step")
    store.on_run_complete(RunRecord("baseline", 0, 1, "ok", metrics, params={"lr": np.float32(0.5)}))
    store.on_run_complete(RunRecord("baseline", 1, 2, "failed", {}, error, artifacts=("a.bin",)))
    store.close()
    from crystallize.store import open as open_store

    first, second = open_store(store_path).load_records(run_id)
    assert first.metrics["np"] == 0.1 and first.metrics["int"] == 3 and first.metrics["arr"] == [0, 1, 2]
    assert np.isnan(first.metrics["nan"]) and first.metrics["s"] == "txt" and first.params == {"lr": 0.5}
    assert second.error == error and second.artifacts == ("a.bin",)


def test_the_store_itself_refuses_to_be_pickled_but_its_cache_and_artifacts_pickle(store_path, log_dir):
    import pickle

    store = SQLiteStore(store_path)
    run_id = _begin(store, log_dir)
    with pytest.raises(TypeError, match="send store.cache or store.artifacts"):
        pickle.dumps(store)
    factory = pickle.loads(pickle.dumps(store.artifacts(run_id)))
    assert factory(RunSpec("baseline", 0, 1)).folder == store_path / "artifacts" / run_id / "baseline" / "0"
    assert pickle.loads(pickle.dumps(store.cache)).root == str(store_path / "cache")
    store.close()


def test_a_treatment_run_records_its_context_params(store_path, log_dir):
    experiment = Experiment(LoggedSource(str(log_dir)), [Shift()],
                            [Treatment("big", {"shift": 10.0, "note": "x"})], replicates=1, seed=2)
    experiment.run(store=store_path, progress=False)
    (params,), = _rows(store_path, "SELECT params FROM runs WHERE condition = 'big'")
    assert json.loads(params) == {"shift": 10.0, "note": "x"}
