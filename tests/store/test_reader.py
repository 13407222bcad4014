"""Reading a store back: listings, run ids by prefix, results, records."""

from __future__ import annotations

import pytest

from crystallize import Experiment, Result
from crystallize.store import RunIdError, SQLiteStore
from crystallize.store import open as open_store

from .conftest import LoggedSource, make
from .test_recording import FailOnReplicate2


def test_load_result_equals_the_result_the_run_returned(store_path, log_dir):
    result = make(log_dir, replicates=4).run(store=store_path, progress=False)
    loaded = open_store(store_path).load_result(result.run_id)
    assert loaded.metrics == result.metrics
    assert loaded.verdicts == result.verdicts
    assert loaded.provenance["fingerprint"] == result.provenance["fingerprint"]
    assert loaded.provenance["seeds"] == result.provenance["seeds"]
    assert loaded.provenance["backend"] == "serial"
    assert (loaded.run_id, loaded.interrupted, loaded.name, loaded.conditions) == \
        (result.run_id, False, "shift", ("baseline", "shifted"))
    assert [r.as_dict() for r in loaded.records] == [r.as_dict() for r in result.records]
    assert loaded.records == result.records
    assert Result.load(result.run_id[:6], store=store_path).metrics == result.metrics


def test_errors_are_loaded_with_their_traceback(store_path, log_dir):
    result = Experiment(LoggedSource(str(log_dir)), [FailOnReplicate2()], replicates=3, seed=1).run(
        store=store_path, progress=False)
    loaded = open_store(store_path).load_result(result.run_id)
    assert loaded.errors == result.errors and "Traceback" in loaded.errors["baseline/2"].traceback
    assert [r.key for r in open_store(store_path).load_records(result.run_id)] == ["baseline/0", "baseline/1",
                                                                                    "baseline/2"]


def test_experiment_runs_are_listed_newest_first_with_counts_and_verdicts(store_path, log_dir):
    first = make(log_dir, name="a", replicates=3).run(store=store_path, progress=False)
    second = Experiment(LoggedSource(str(log_dir)), [FailOnReplicate2()], replicates=3, seed=1, name="b").run(
        store=store_path, progress=False)
    third = make(log_dir, name="a", replicates=3, seed=9).run(store=store_path, progress=False)
    store = open_store(store_path)
    runs = store.experiment_runs()
    assert [r.id for r in runs] == [third.run_id, second.run_id, first.run_id]
    b = runs[1]
    assert (b.name, b.status, b.runs_done, b.runs_failed, b.replicates, b.runs_planned) == ("b", "completed", 2, 1, 3, 3)
    assert b.verdict_summary == "no verdicts" and b.seed == 1 and b.finished >= b.started
    a = runs[0]
    assert a.verdicts == 1 and a.verdict_summary == f"{a.accepted} of 1 accepted"
    assert a.as_dict()["verdict_summary"] == a.verdict_summary and a.as_dict()["conditions"] == ["baseline", "shifted"]
    assert [r.id for r in store.experiment_runs("a")] == [third.run_id, first.run_id]
    assert store.experiment_run(second.run_id[:8]) == b
    experiments = store.experiments()
    assert len(experiments) == 3 and {e.name for e in experiments} == {"a", "b"}
    assert {e.fingerprint for e in experiments} == {first.provenance["fingerprint"],
                                                    second.provenance["fingerprint"],
                                                    third.provenance["fingerprint"]}
    assert all(e.runs == 1 and e.definition["name"] in ("a", "b") for e in experiments)


def test_a_run_that_did_not_complete_loads_as_interrupted(store_path, log_dir):
    store = SQLiteStore(store_path)
    experiment = make(log_dir)
    run_id, _ = store.begin({"experiment": experiment, "provenance": experiment.provenance()},
                            experiment.plan(), resume=False)
    store.close()
    loaded = open_store(store_path).load_result(run_id)
    assert loaded.interrupted and loaded.records == () and loaded.verdicts == ()
    assert open_store(store_path).experiment_runs()[0].status == "running"


def _many_runs(store_path, log_dir, n: int) -> list[str]:
    store = SQLiteStore(store_path)
    experiment = make(log_dir)
    ids = []
    for _ in range(n):
        run_id, _ = store.begin({"experiment": experiment, "provenance": experiment.provenance()},
                                experiment.plan(), resume=False)
        ids.append(run_id)
    store.close()
    return ids


def test_run_ids_resolve_from_any_unique_prefix(store_path, log_dir):
    ids = _many_runs(store_path, log_dir, 17)  # 17 ids over 16 hex digits: two share a first character
    store = open_store(store_path)
    for run_id in ids:
        unique = next(run_id[:n] for n in range(1, 13) if sum(i.startswith(run_id[:n]) for i in ids) == 1)
        assert store.resolve_run_id(unique) == run_id
        assert store.resolve_run_id(run_id) == run_id
    shared = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) >= 2)
    with pytest.raises(RunIdError, match=rf"run id prefix '{shared}' is ambiguous: it matches \d+ experiment runs"
                                         r" \(.*\); give more characters") as info:
        store.resolve_run_id(shared)
    assert info.value.ambiguous and sorted(info.value.candidates) == sorted(i for i in ids if i.startswith(shared))


def test_an_unknown_run_id_lists_recent_ones(store_path, log_dir):
    ids = _many_runs(store_path, log_dir, 2)
    store = open_store(store_path)
    with pytest.raises(RunIdError, match="no experiment run has an id starting with 'zz'; recent ids: ") as info:
        store.load_result("zz")
    assert sorted(info.value.candidates) == sorted(ids)
    with pytest.raises(RunIdError):
        store.resolve_run_id("  ")


def test_an_empty_store_says_it_holds_no_runs(store_path, log_dir):
    SQLiteStore(store_path)._db.connection()  # the database and its tables, no experiment run yet
    with pytest.raises(RunIdError, match="the store holds no experiment runs yet"):
        open_store(store_path).resolve_run_id("abc")
