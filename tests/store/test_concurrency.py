"""Two stores writing into one SQLite file at once lose nothing."""

from __future__ import annotations

import threading

from crystallize.core.record import RunRecord
from crystallize.store import SQLiteStore
from crystallize.store import open as open_store

from .conftest import make


def test_two_stores_recording_at_once_keep_every_run(store_path, log_dir):
    ids: list[str] = []
    start = threading.Barrier(2)

    def record(name: str) -> None:
        store = SQLiteStore(store_path, batch_size=1)  # one commit per run: the most contention
        experiment = make(log_dir, name=name, replicates=100)
        run_id, _ = store.begin({"experiment": experiment, "provenance": experiment.provenance()},
                                experiment.plan(), resume=False)
        ids.append(run_id)
        start.wait()
        for spec in experiment.plan():
            store.on_run_complete(RunRecord(spec.condition, spec.replicate, spec.seed, "ok", {"score": 1.0}))
        store.finish(None, status="completed")
        store.close()

    threads = [threading.Thread(target=record, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = {r.id: r for r in open_store(store_path).experiment_runs()}
    assert set(runs) == set(ids)
    assert all((r.status, r.runs_done) == ("completed", 200) for r in runs.values())
