"""The Dask backend on clusters set up the ways people deploy Dask, and the private
cluster ``backend="dask"`` starts (secure, on loopback, from a script)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crystallize import Experiment, Pipeline

from .experiments import DrawAfterWork, GlobalNoise, OnFirstRecord, Score, make, samples

pytestmark = [pytest.mark.dask, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def private_clusters(monkeypatch):
    """The LocalClusters that ``backend="dask"`` starts, as they start."""
    import distributed

    started = []
    real = distributed.LocalCluster

    def spy(*args, **kwargs):
        cluster = real(*args, **kwargs)
        started.append(cluster)
        return cluster

    monkeypatch.setattr(distributed, "LocalCluster", spy)
    return started


INTRUDER = """
import sys
import distributed
from distributed.security import Security

address = sys.argv[1]
for name, security in [("no credentials", None), ("credentials of its own", Security.temporary())]:
    try:
        client = distributed.Client(address, security=security, timeout=5, set_as_default=False)
    except (OSError, TimeoutError, TypeError) as exc:
        print(name, "refused", type(exc).__name__)
    else:
        client.close()
        print(name, "connected")
"""


def test_dask_by_name_starts_a_private_cluster_that_only_this_process_can_use(reference, private_clusters, tmp_path):
    import distributed

    tried: dict[str, object] = {}
    script = tmp_path / "intruder.py"
    script.write_text(INTRUDER)

    def intrude():  # another program on this machine tries the scheduler while the runs go on
        [cluster] = private_clusters
        tried["addresses"] = [cluster.scheduler_address, *cluster.scheduler_info["workers"]]
        tried["output"] = subprocess.run([sys.executable, str(script), cluster.scheduler_address],
                                         capture_output=True, text=True, timeout=120).stdout

    with pytest.raises(ValueError):
        distributed.default_client()
    result = make().run(backend="dask", workers=2, store=False, progress=False, callbacks=[OnFirstRecord(intrude)])
    assert samples(result.records) == reference  # the cluster's own client, with its credentials, ran everything
    assert all(str(a).startswith("tls://127.0.0.1:") for a in tried["addresses"])  # TLS, on loopback only
    lines = str(tried["output"]).splitlines()
    assert [line.split(" refused ")[0] for line in lines] == ["no credentials", "credentials of its own"], lines
    assert private_clusters[0].status.name == "closed"


def _script(tmp_path, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "experiment_script.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                      "from tests.execution.experiments import make\n" + textwrap.dedent(body))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, cwd=tmp_path)


def test_a_script_without_a_main_guard_stops_before_starting_with_one_line_saying_why(tmp_path):
    done = _script(tmp_path, """
        result = make(replicates=2).run(backend="dask", workers=1, store=False, progress=False)
        print("ran", len(result.records))
    """)
    assert done.returncode == 1 and "ran" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("crystallize.execution.errors.BackendError: ")
    assert "experiment_script.py, line 5: backend='dask' starts worker processes that run this script again" in last
    assert 'if __name__ == "__main__":' in last
    assert "Nanny" not in done.stderr  # no cluster was started


def test_a_script_with_a_main_guard_runs(tmp_path):
    done = _script(tmp_path, """
        def main():
            result = make(replicates=2).run(backend="dask", workers=1, store=False, progress=False)
            print("ran", len(result.records))

        if __name__ == "__main__":
            main()
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ran", "6"]


def test_an_adaptive_cluster_that_starts_with_no_workers_scales_up_for_the_run(reference):
    with own_cluster(workers=0) as (cluster, client):
        cluster.adapt(minimum=0, maximum=2, interval="200ms")
        assert not client.nthreads()
        result = make().run(backend=client, store=False, progress=False)
        assert samples(result.records) == reference
        assert client.nthreads()


def test_a_scheduler_with_an_idle_timeout_shorter_than_the_run_stays_up_for_it():
    class Busy:
        """Gives the scheduler a task just before the experiment run starts: its idle clock starts then."""

        def on_experiment_start(self, experiment, planned, todo):
            assert client.submit(pow, 2, 3).result() == 8

    with own_cluster(workers=2, scheduler_kwargs={"idle_timeout": "2s"}) as (cluster, client):
        result = make(replicates=8, sleep_at=tuple(range(8)), sleep_for=1.5).run(
            backend=client, store=False, progress=False, callbacks=[Busy()])  # 6 s or more
        assert all(r.ok for r in result.records) and len(result.records) == 32
        assert cluster.scheduler.status.name == "running"


def test_workers_that_join_during_a_run_take_runs():
    def grow():
        cluster.scale(2)
        client.wait_for_workers(2, timeout=120)  # however long a worker takes to start on a busy machine

    with own_cluster() as (cluster, client):
        result = make(replicates=40, sleep_at=tuple(range(40)), sleep_for=0.25).run(
            backend=client, store=False, progress=False, callbacks=[OnFirstRecord(grow)])
        assert all(r.ok for r in result.records) and len(result.records) == 160
        assert len({r.metrics["pid"] for r in result.records}) == 2


def test_workers_with_several_threads_load_the_experiment_once_and_keep_global_random_per_run(tmp_path):
    from .experiments import CountingSource

    with own_cluster(threads=2) as (_, client):
        experiment = Experiment(GlobalNoise(), Pipeline([DrawAfterWork(), Score()]), replicates=40, seed=7)
        serial = samples(experiment.run(store=False, progress=False).records)
        result = experiment.run(backend=client, store=False, progress=False)
        assert samples(result.records) == serial  # two runs at once in one process, each with its own generators
        starts = sorted((r.started, r.started + r.duration) for r in result.records)
        assert any(later[0] < earlier[1] for earlier, later in zip(starts, starts[1:]))  # runs overlapped
        log = tmp_path / "unpickled.txt"
        result = make(source=CountingSource(str(log)), replicates=20).run(backend=client, store=False,
                                                                          progress=False)
        [pid] = {r.metrics["pid"] for r in result.records}
        assert log.read_text().split() == [str(pid)]  # loaded once, though two batches were sent at the start


def test_a_cluster_that_requires_tls_is_reached_over_tls(reference):
    from distributed.security import Security

    with own_cluster(security=Security.temporary()) as (_, client):
        assert all(w.startswith("tls://") for w in client.nthreads())
        assert samples(make().run(backend=client, store=False, progress=False).records) == reference


def test_a_worker_restarted_at_its_old_address_takes_runs_again():
    from .experiments import free_port

    port = free_port()
    with own_cluster(worker_port=port) as (_, client):
        result = make(replicates=3, sleep_at=(0,), sleep_for=60.0).run(backend=client, timeout=3.0, store=False,
                                                                       progress=False)
        assert [r.key for r in result.records if r.status == "timeout"] == ["broken/0"]
        assert sum(r.ok for r in result.records) == 11
        assert list(client.nthreads()) == [f"tcp://127.0.0.1:{port}"]


def test_a_timeout_on_a_worker_without_a_nanny_leaves_it_running_and_says_so():
    import distributed

    with own_cluster(workers=2, worker_class=distributed.Worker) as (_, client):
        result = make(replicates=3, sleep_at=(0,), sleep_for=8.0).run(backend=client, timeout=2.0, store=False,
                                                                      progress=False)
        slow = [r for r in result.records if r.status != "ok"]
        assert [(r.key, r.status) for r in slow] == [("broken/0", "timeout")]
        assert "could not be restarted" in slow[0].error.message and "requires a nanny" in slow[0].error.message
        assert sum(r.ok for r in result.records) == 11


def test_a_private_cluster_keeps_the_workers_that_die_whatever_the_lost_worker_timeout(reference):
    import dask

    # a timeout that passes while the nanny restarts its worker: LocalCluster would close that nanny
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "0.1s"}):
        result = make(die_at=(2, 5)).run(backend="dask", workers=2, store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/2", "WorkerDied"),
                                                                            ("broken/5", "WorkerDied")]
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_on_a_cluster_that_retries_tasks_of_dead_workers_a_dying_run_is_still_one_failure(reference):
    import dask

    # Dask's default: a task whose worker died runs again elsewhere, up to 3 times
    with dask.config.set({"distributed.scheduler.allowed-failures": 3}), own_cluster(workers=2) as (_, client):
        result = make(die_at=(2,)).run(backend=client, store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/2", "WorkerDied")]
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_runs_beside_a_timed_out_run_on_its_worker_run_again_when_it_restarts():
    import dask

    from crystallize import Treatment

    from .experiments import Misbehave

    def build(*treatments):
        return Experiment(GlobalNoise(), Pipeline([Misbehave(), DrawAfterWork(), Score()]), replicates=4, seed=3,
                          treatments=[Treatment("slow", {"work": 1.5}), *treatments])

    serial = samples(build().run(store=False, progress=False).records)
    # one worker with two threads: when stuck/0 times out, a slow run is executing in the other thread
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), own_cluster(threads=2) as (_, client):
        result = build(Treatment("stuck", {"sleep_at": (0,), "sleep_for": 60.0})).run(
            backend=client, timeout=4.0, store=False, progress=False)
    assert [r.key for r in result.records if not r.ok] == ["stuck/0"]
    got = samples(result.records)
    assert len(result.records) == 12 and all(got[key] == value for key, value in serial.items())
