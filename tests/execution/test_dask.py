"""The Dask backend on a client you pass: numbers, failures, dead workers, timeouts, Ctrl-C."""

from __future__ import annotations

import re
import time

import pytest

from crystallize import Experiment, Pipeline
from crystallize.execution import BackendError

from .experiments import DrawAfterWork, GlobalNoise, OnFirstRecord, Score, Stopper, make, samples

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def reference():
    return samples(make().run(store=False, progress=False).records)


def test_a_client_you_pass_gives_the_serial_numbers_and_stays_open(dask_client, reference):
    result = make().run(backend=dask_client, store=False, progress=False)
    assert samples(result.records) == reference
    assert result.provenance["backend"] == "dask"
    assert dask_client.status == "running"
    assert dask_client.submit(pow, 2, 3).result() == 8
    pids = {r.metrics["pid"] for r in make(replicates=30).run(backend=dask_client, store=False,
                                                              progress=False).records}
    assert len(pids) == 2  # both workers took runs


def test_batches_are_ordinary_dask_tasks_named_after_the_experiment(dask_client):
    from distributed import get_task_stream

    experiment = make(replicates=20)
    experiment.name = "lr_sweep"
    with get_task_stream(client=dask_client) as stream:
        result = experiment.run(backend=dask_client, store=False, progress=False)
    keys = [task["key"] for task in stream.data]
    assert all(re.fullmatch(r"crystallize-lr_sweep-batch-\d+-[0-9a-f]{8}", key) for key in keys), keys
    assert 1 < len(set(keys)) < len(result.records)  # batches of several runs, each a task of its own
    assert not any(dask_client.run(_crystallize_plugins).values())  # the experiment left the workers with the run


def _crystallize_plugins(dask_worker):
    return [name for name in dask_worker.plugins if name.startswith("crystallize")]


def test_global_random_on_workers_matches_serial_whatever_dask_does_meanwhile(dask_client):
    # each run works 25 ms, then draws from `random` and NumPy's global generator; meanwhile the
    # worker's event loop sizes its messages with dask.sizeof, which draws from `random`
    experiment = Experiment(GlobalNoise(), Pipeline([DrawAfterWork(), Score()]), replicates=120, seed=7)
    serial = samples(experiment.run(store=False, progress=False).records)
    assert samples(experiment.run(backend=dask_client, store=False, progress=False).records) == serial


def test_failures_are_recorded_and_the_rest_kept(dask_client, reference):
    result = make(fail_at=(4,)).run(backend=dask_client, store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/4", "ValueError")]
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_a_worker_killed_mid_batch_fails_only_its_run(dask_client):
    experiment = make(replicates=40, die_at=(12,))  # in a batch of about 15 runs
    result = experiment.run(backend=dask_client, store=False, progress=False)
    bad = [r for r in result.records if not r.ok]
    assert [(r.key, r.error.type) for r in bad] == [("broken/12", "WorkerDied")]
    assert "Dask worker running this run died" in bad[0].error.message
    reference = samples(make(replicates=40).run(store=False, progress=False).records)
    got = samples(result.records)
    assert len(result.records) == 160
    assert all(got[key] == value for key, value in reference.items())


def test_timeout_cancels_the_task_and_restarts_its_worker(dask_client):
    result = make(replicates=3, sleep_at=(0,), sleep_for=60.0).run(backend=dask_client, timeout=3.0, store=False,
                                                                   progress=False)
    slow = [r for r in result.records if r.status != "ok"]
    assert [(r.key, r.status, r.error.type) for r in slow] == [("broken/0", "timeout", "RunTimeout")]
    assert "its Dask worker was restarted" in slow[0].error.message
    assert sum(r.ok for r in result.records) == 11


def test_a_timeout_counts_the_time_a_run_executes_exactly_those_over_it_time_out(dask_client):
    # 72 runs, the 8 of broken/0-7 take 1.5 s; the cluster restarts a worker after each of them
    result = make(replicates=18, sleep_at=tuple(range(8)), sleep_for=1.5).run(
        backend=dask_client, timeout=1.0, store=False, progress=False)
    assert len(result.records) == 72
    assert sorted(r.key for r in result.records if r.status == "timeout") == [f"broken/{i}" for i in range(8)]
    assert all(r.ok for r in result.records if r.status != "timeout")


def test_answers_that_came_in_while_records_were_emitted_are_not_timeouts(dask_client):
    # the other worker's run finishes while this sleeps, well within its timeout
    slow = OnFirstRecord(lambda: time.sleep(2.5))
    result = make(replicates=2, sleep_at=(0, 1), sleep_for=1.0).run(
        backend=dask_client, timeout=2.0, store=False, progress=False, callbacks=[slow])
    assert [r.status for r in result.records] == ["ok"] * 8


def test_ctrl_c_keeps_the_finished_runs_and_cancels_the_rest(dask_client):
    stopper = Stopper(after=3)
    result = make(replicates=20, sleep_at=tuple(range(20)), sleep_for=0.1).run(
        backend=dask_client, store=False, progress=False, callbacks=[stopper])
    assert result.interrupted and 3 <= len(result.records) < 80
    assert dask_client.submit(pow, 3, 2).result() == 9
    deadline = time.monotonic() + 30
    while any(dask_client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(dask_client.processing().values())  # nothing of the run is left on the cluster


def test_the_default_client_is_used(dask_client, reference):
    import distributed

    with dask_client.as_current():
        assert distributed.default_client() is dask_client
        result = make().run(backend="dask", store=False, progress=False)
    assert samples(result.records) == reference
    assert dask_client.status == "running"


def test_a_closed_or_asynchronous_client_is_refused_with_what_to_do(dask_client):
    import asyncio

    import distributed

    async def notebook_cell():
        client = await distributed.Client(dask_client.scheduler.address, asynchronous=True, set_as_default=False)
        try:
            make(replicates=1).run(backend=client, store=False, progress=False)
        finally:
            await client.close()

    with pytest.raises(BackendError, match=r"created with asynchronous=True.*distributed.Client\("):
        asyncio.run(notebook_cell())
    closed = distributed.Client(dask_client.scheduler.address, set_as_default=False)
    closed.close()
    with pytest.raises(BackendError, match=r"client is 'closed', not connected: pass a connected client"):
        make(replicates=1).run(backend=closed, store=False, progress=False)


def test_an_experiment_the_workers_cannot_load_is_reported(dask_client):
    import sys
    import types

    import cloudpickle

    from crystallize import Treatment

    module = types.ModuleType("only_here")
    exec("def bump(ctx):\n    ctx['shift'] = 1.0\n", module.__dict__)  # noqa: S102 - a module workers lack
    sys.modules["only_here"] = module
    try:
        experiment = make(replicates=2)
        experiment.treatments = (Treatment("missing", module.bump),)
        assert b"only_here" in cloudpickle.dumps(module.bump)
        with pytest.raises(BackendError, match="could not load the experiment.*only_here"):
            experiment.run(backend=dask_client, store=False, progress=False)
    finally:
        del sys.modules["only_here"]


def test_workers_without_crystallize_are_reported_with_what_to_do(dask_client, monkeypatch):
    from crystallize.execution.dask_worker import ExperimentPlugin

    def __reduce__(self):  # what a worker without crystallize meets when it unpickles the plugin
        return (__import__, ("crystallize_missing_on_workers",))

    monkeypatch.setattr(ExperimentPlugin, "__reduce__", __reduce__, raising=False)
    with pytest.raises(BackendError, match=r"cannot take the experiment.*crystallize_missing.*Install the same"):
        make(replicates=1).run(backend=dask_client, store=False, progress=False)


def test_the_experiment_crosses_to_each_worker_once(dask_client, tmp_path):
    from .experiments import CountingSource

    log = tmp_path / "unpickled.txt"
    result = make(source=CountingSource(str(log)), replicates=60).run(backend=dask_client, store=False,
                                                                       progress=False)
    workers = {str(r.metrics["pid"]) for r in result.records}
    unpickled = log.read_text().split()
    assert len(unpickled) == len(set(unpickled))  # no process unpickled it twice
    assert workers <= set(unpickled)


def test_a_run_that_calls_sys_exit_is_one_failed_run(dask_client, reference):
    result = make(exit_at=(1,)).run(backend=dask_client, store=False, progress=False)
    assert [r.key for r in result.records if not r.ok] == ["broken/1"]
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_workers_restarted_by_the_client_take_runs(dask_client, reference):
    make(replicates=2).run(backend=dask_client, store=False, progress=False)
    before = set(dask_client.nthreads())
    dask_client.restart()
    result = make(replicates=30).run(backend=dask_client, store=False, progress=False)
    assert samples(make().run(backend=dask_client, store=False, progress=False).records) == reference
    assert len({r.metrics["pid"] for r in result.records}) == 2
    assert before != set(dask_client.nthreads())  # restarted workers come back at new addresses


def test_it_runs_from_code_that_already_runs_an_event_loop(dask_client, reference):
    import asyncio

    async def notebook_cell():  # a notebook runs cells inside its event loop
        return make().run(backend=dask_client, store=False, progress=False)

    assert samples(asyncio.run(notebook_cell()).records) == reference
