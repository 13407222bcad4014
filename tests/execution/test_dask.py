from __future__ import annotations

import contextlib

import pytest

from crystallize.execution import BackendError

from .experiments import Stopper, make, samples

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def reference():
    return samples(make().run(store=False, progress=False).records)


@contextlib.contextmanager
def own_cluster(workers=1, threads=1, security=None, **options):
    """A client of a LocalCluster of its own, both closed afterwards."""
    import distributed

    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                                       dashboard_address=None, silence_logs=40, security=security, **options)
    client = distributed.Client(cluster, security=security, set_as_default=False)
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()


class OnFirstRecord:
    """A listener that calls ``action`` once, when the first record arrives."""

    def __init__(self, action) -> None:
        self.action = action
        self.done = False

    def on_run_complete(self, record):
        if not self.done:
            self.done = True
            self.action()


@pytest.fixture(params=["data port", "dask comm", "dask tasks"])
def transport(request, dask_client, monkeypatch):
    """The way batches reach the workers: a data port, else a Dask comm to the
    batch handler, else (a client that reaches only the scheduler) tasks."""
    from crystallize.execution import dask_pool

    from .experiments import refused_data_port, unreachable

    monkeypatch.setattr(dask_client, "_crystallize_remote", {}, raising=False)
    if request.param != "data port":
        monkeypatch.setattr(dask_pool, "open_data_port", refused_data_port)
    if request.param == "dask tasks":
        monkeypatch.setattr(dask_pool, "connect", unreachable)
    yield request.param
    assert bool(dask_client._crystallize_remote) == (request.param == "dask tasks")  # the way tested was taken


def test_a_client_you_pass_gives_the_serial_numbers_and_stays_open(dask_client, reference, transport):
    result = make().run(backend=dask_client, store=False, progress=False)
    assert samples(result.records) == reference
    assert result.provenance["backend"] == "dask"
    assert dask_client.status == "running"
    assert dask_client.submit(pow, 2, 3).result() == 8
    pids = {r.metrics["pid"] for r in make(replicates=30).run(backend=dask_client, store=False,
                                                              progress=False).records}
    assert len(pids) == 2  # both workers took runs


def test_failures_are_recorded_and_the_rest_kept(dask_client, reference, transport):
    result = make(fail_at=(4,)).run(backend=dask_client, store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/4", "ValueError")]
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_a_dying_worker_fails_only_its_run(dask_client, reference, transport):
    result = make(die_at=(2,)).run(backend=dask_client, store=False, progress=False)
    bad = [r for r in result.records if not r.ok]
    assert [(r.key, r.error.type) for r in bad] == [("broken/2", "WorkerDied")]
    assert "Dask worker running this run died" in bad[0].error.message
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_timeout_cancels_the_task_and_restarts_its_worker(dask_client, transport):
    result = make(replicates=3, sleep_at=(0,), sleep_for=60.0).run(backend=dask_client, timeout=3.0, store=False,
                                                                   progress=False)
    slow = [r for r in result.records if r.status != "ok"]
    assert [(r.key, r.status, r.error.type) for r in slow] == [("broken/0", "timeout", "RunTimeout")]
    assert "its Dask worker was restarted" in slow[0].error.message
    assert sum(r.ok for r in result.records) == 11


def test_ctrl_c_keeps_the_finished_runs_and_cancels_the_rest(dask_client, transport):
    stopper = Stopper(after=3)
    result = make(replicates=20, sleep_at=tuple(range(20)), sleep_for=0.1).run(
        backend=dask_client, store=False, progress=False, callbacks=[stopper])
    assert result.interrupted and 3 <= len(result.records) < 80
    assert dask_client.submit(pow, 3, 2).result() == 9


def test_the_default_client_is_used(dask_client, reference):
    with dask_client.as_current():
        import distributed

        assert distributed.default_client() is dask_client
        result = make().run(backend="dask", store=False, progress=False)
    assert samples(result.records) == reference
    assert dask_client.status == "running"


@pytest.mark.slow
def test_dask_by_name_starts_a_local_cluster_and_closes_it(reference, monkeypatch):
    import distributed

    started = []
    real = distributed.LocalCluster

    def spy(*args, **kwargs):
        cluster = real(*args, **kwargs)
        started.append((cluster, kwargs))
        return cluster

    monkeypatch.setattr(distributed, "LocalCluster", spy)
    with pytest.raises(ValueError):
        distributed.default_client()
    result = make().run(backend="dask", workers=2, store=False, progress=False)
    assert samples(result.records) == reference
    [(cluster, kwargs)] = started
    assert kwargs["n_workers"] == 2 and kwargs["processes"] is True
    assert cluster.status.name == "closed"


@pytest.mark.slow
def test_a_local_cluster_keeps_the_workers_that_die_whatever_the_lost_worker_timeout(reference, monkeypatch):
    import dask

    from crystallize.execution import dask_pool

    monkeypatch.setattr(dask_pool, "_WORKER_WAIT", 30.0)
    # a timeout that passes while the nanny restarts its worker: LocalCluster would close that nanny
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "0.1s"}):
        result = make(die_at=(2, 5)).run(backend="dask", workers=2, store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/2", "WorkerDied"),
                                                                            ("broken/5", "WorkerDied")]
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items() if key[0] != "broken")


def test_a_closed_or_asynchronous_client_is_refused_with_what_to_do(dask_client):
    import distributed

    import asyncio

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
    import types

    import cloudpickle

    module = types.ModuleType("only_here")
    exec("def bump(ctx):\n    ctx['shift'] = 1.0\n", module.__dict__)  # noqa: S102 - a module workers lack
    import sys

    sys.modules["only_here"] = module
    try:
        experiment = make(replicates=2)
        from crystallize import Treatment

        experiment.treatments = (Treatment("missing", module.bump),)
        assert b"only_here" in cloudpickle.dumps(module.bump)
        with pytest.raises(BackendError, match="could not load the experiment.*only_here"):
            experiment.run(backend=dask_client, store=False, progress=False)
    finally:
        del sys.modules["only_here"]


def test_the_experiment_crosses_to_each_worker_once(dask_client, tmp_path):
    from .experiments import CountingSource

    log = tmp_path / "unpickled.txt"
    result = make(source=CountingSource(str(log)), replicates=60).run(backend=dask_client, store=False,
                                                                       progress=False)
    workers = {str(r.metrics["pid"]) for r in result.records}
    unpickled = log.read_text().split()
    assert len(unpickled) == len(set(unpickled))  # no process unpickled it twice
    assert workers <= set(unpickled)


@pytest.mark.slow
def test_workers_that_join_during_a_run_take_runs(reference):
    with own_cluster() as (cluster, client):
        result = make(replicates=40, sleep_at=tuple(range(40)), sleep_for=0.25).run(
            backend=client, store=False, progress=False, callbacks=[OnFirstRecord(lambda: cluster.scale(2))])
        assert all(r.ok for r in result.records) and len(result.records) == 160
        assert len({r.metrics["pid"] for r in result.records}) == 2


@pytest.mark.slow
def test_a_worker_with_several_threads_runs_batches_side_by_side_and_loads_the_experiment_once(reference, tmp_path):
    from .experiments import CountingSource

    with own_cluster(threads=2) as (_, client):
        assert samples(make().run(backend=client, store=False, progress=False).records) == reference
        log = tmp_path / "unpickled.txt"
        result = make(source=CountingSource(str(log)), replicates=20, sleep_at=tuple(range(20)), sleep_for=0.05).run(
            backend=client, store=False, progress=False)
        assert all(r.ok for r in result.records)
        [pid] = {r.metrics["pid"] for r in result.records}
        assert log.read_text().split() == [str(pid)]  # loaded once, though two batches were sent at the start
        starts = sorted((r.started, r.started + r.duration) for r in result.records)
        assert any(later[0] < earlier[1] for earlier, later in zip(starts, starts[1:]))  # runs overlapped


def _task_sessions():
    from crystallize.execution import dask_service

    return len(dask_service._task_sessions)


@pytest.mark.parametrize("transport", ["dask tasks"], indirect=True)
def test_workers_reached_by_tasks_drop_the_experiment_when_the_run_ends(dask_client, reference, transport):
    import time

    assert samples(make().run(backend=dask_client, store=False, progress=False).records) == reference
    deadline = time.monotonic() + 10
    while any(dask_client.run(_task_sessions).values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(dask_client.run(_task_sessions).values())


@pytest.mark.parametrize("transport", ["dask tasks"], indirect=True)
def test_a_worker_drops_the_experiment_of_a_run_whose_client_let_go_of_it(dask_client, reference, transport,
                                                                          monkeypatch):
    from crystallize.execution import dask_pool

    async def never(session):  # the end of the run never arrives, as when its client dies
        pass

    monkeypatch.setattr(dask_pool, "end_task_session", never)
    make(replicates=4).run(backend=dask_client, store=False, progress=False)
    assert list(dask_client.run(_task_sessions).values()) == [1, 1]  # left behind on each worker
    assert samples(make().run(backend=dask_client, store=False, progress=False).records) == reference
    assert list(dask_client.run(_task_sessions).values()) == [1, 1]  # the first one went as the second came


@pytest.mark.parametrize("transport", ["dask tasks"], indirect=True)
def test_workers_found_unreachable_are_sent_tasks_at_once_in_later_runs(dask_client, reference, transport,
                                                                        monkeypatch, caplog):
    from crystallize.execution import dask_pool

    make(replicates=1).run(backend=dask_client, store=False, progress=False)
    tried = []

    async def counted(address, **kwargs):
        tried.append(address)
        raise ConnectionRefusedError(address)

    monkeypatch.setattr(dask_pool, "connect", counted)
    with caplog.at_level("INFO", logger="crystallize"):
        assert samples(make().run(backend=dask_client, store=False, progress=False).records) == reference
    assert tried == [] and not any("no direct data connection" in r.message for r in caplog.records)


def test_a_worker_reached_by_tasks_that_dies_is_found_out_while_dask_would_retry_its_task(reference, monkeypatch):
    import dask

    from crystallize.execution import dask_pool

    from .experiments import refused_data_port, unreachable

    monkeypatch.setattr(dask_pool, "open_data_port", refused_data_port)
    monkeypatch.setattr(dask_pool, "connect", unreachable)
    # Dask's default: the task of a worker that died waits for that worker (it is pinned there), which never comes
    with dask.config.set({"distributed.scheduler.allowed-failures": 3}), own_cluster(workers=2) as (_, client):
        result = make(die_at=(2,)).run(backend=client, store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/2", "WorkerDied")]
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def _crystallize_threads(dask_worker):
    import threading

    return sorted(t.name for t in threading.enumerate() if t.name.startswith("crystallize"))


def test_every_data_connection_closes_after_the_run(dask_client, reference):
    import time

    for _ in range(3):
        assert samples(make().run(backend=dask_client, store=False, progress=False).records) == reference
    deadline = time.monotonic() + 10
    while any(dask_client.run(_crystallize_threads).values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(dask_client.run(_crystallize_threads).values())


def test_workers_without_a_reachable_data_port_are_reached_through_dask(dask_client, reference, monkeypatch, caplog):
    from crystallize.execution import dask_pool

    from .experiments import refused_data_port

    monkeypatch.setattr(dask_pool, "open_data_port", refused_data_port)
    with caplog.at_level("INFO", logger="crystallize"):
        assert samples(make().run(backend=dask_client, store=False, progress=False).records) == reference
    assert sum("no direct data connection to Dask worker" in r.message for r in caplog.records) == 2
    from crystallize.execution.dask_service import worker_id

    assert dask_client._crystallize_handler_on >= set(dask_client.run(worker_id).values())
    result = make(die_at=(2,)).run(backend=dask_client, store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/2", "WorkerDied")]


def test_workers_without_crystallize_are_reported_at_once(dask_client, monkeypatch):
    import time

    from crystallize.execution import dask_pool

    from .experiments import missing_data_port

    monkeypatch.setattr(dask_pool, "open_data_port", missing_data_port)
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"cannot run crystallize.*No module named 'crystallize'.*Install"):
        make().run(backend=dask_client, store=False, progress=False)
    assert time.monotonic() - start < 30


def test_a_run_that_calls_sys_exit_stops_the_experiment_with_a_clear_error(dask_client):
    with pytest.raises(BackendError, match=r"SystemExit\(4\).*must not exit"):
        make(replicates=4, exit_at=(1,)).run(backend=dask_client, store=False, progress=False)
    assert samples(make().run(backend=dask_client, store=False, progress=False).records)  # the workers live on


def test_answers_that_came_in_while_records_were_emitted_are_not_timeouts(dask_client):
    import time

    # the other worker's run finishes while this sleeps, well within its timeout
    slow = OnFirstRecord(lambda: time.sleep(2.5))
    result = make(replicates=2, sleep_at=(0, 1), sleep_for=1.0).run(
        backend=dask_client, timeout=2.0, store=False, progress=False, callbacks=[slow])
    assert [r.status for r in result.records] == ["ok"] * 8


def test_a_worker_restarted_at_its_old_address_takes_runs_again(reference):
    from .experiments import free_port

    port = free_port()
    with own_cluster(worker_port=port) as (_, client):
        result = make(replicates=3, sleep_at=(0,), sleep_for=60.0).run(backend=client, timeout=3.0, store=False,
                                                                       progress=False)
        assert [r.key for r in result.records if r.status == "timeout"] == ["broken/0"]
        assert sum(r.ok for r in result.records) == 11
        assert list(client.nthreads()) == [f"tcp://127.0.0.1:{port}"]


def test_a_timeout_on_a_worker_without_a_nanny_leaves_it_running_and_says_so(reference):
    import distributed

    with own_cluster(workers=2, worker_class=distributed.Worker) as (_, client):
        result = make(replicates=3, sleep_at=(0,), sleep_for=8.0).run(backend=client, timeout=2.0, store=False,
                                                                      progress=False)
        slow = [r for r in result.records if r.status != "ok"]
        assert [(r.key, r.status) for r in slow] == [("broken/0", "timeout")]
        assert "could not be restarted" in slow[0].error.message
        assert sum(r.ok for r in result.records) == 11


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


@pytest.mark.slow
def test_a_cluster_that_requires_tls_is_reached_over_tls(reference):
    from distributed.security import Security

    with own_cluster(security=Security.temporary()) as (_, client):
        assert all(w.startswith("tls://") for w in client.nthreads())
        assert samples(make().run(backend=client, store=False, progress=False).records) == reference
