from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from crystallize import Experiment, Pipeline, Treatment
from crystallize.execution import BackendError, ProcessesBackend

from .conftest import worker_processes
from .experiments import RngNoise, Score, Stopper, make, samples


@pytest.fixture(scope="module")
def reference():
    return samples(make().run(store=False, progress=False).records)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_processes_give_the_serial_numbers_for_any_worker_count(reference, workers, no_orphans):
    result = make().run(backend="processes", workers=workers, store=False, progress=False)
    assert samples(result.records) == reference
    assert [r.replicate for r in result.records if r.condition == "lam"] == list(range(8))


def test_runs_spread_over_the_workers_and_lambdas_defined_here_travel(no_orphans):
    bonus = 3.0
    experiment = Experiment(RngNoise(), Pipeline([Score()]),
                            treatments=[Treatment("local", lambda ctx: ctx.add("shift", bonus))],
                            replicates=30, seed=5)
    serial = experiment.run(store=False, progress=False)
    parallel = experiment.run(backend="processes", workers=2, store=False, progress=False)
    assert samples(parallel.records) == samples(serial.records)
    assert len({r.metrics["pid"] for r in parallel.records}) == 2
    assert os.getpid() not in {r.metrics["pid"] for r in parallel.records}
    shifted = parallel.metrics["local"]["score"]
    assert shifted == [b + 3.0 for b in parallel.metrics["baseline"]["score"]]


def test_a_failing_run_is_recorded_and_the_others_go_on(reference, no_orphans):
    result = make(fail_at=(2, 5)).run(backend="processes", workers=2, store=False, progress=False)
    failed = {(r.condition, r.replicate): r.error for r in result.records if not r.ok}
    assert set(failed) == {("broken", 2), ("broken", 5)}
    assert failed["broken", 2].type == "ValueError"
    assert "planned failure at replicate 2" in failed["broken", 2].message
    assert "Traceback" in failed["broken", 2].traceback
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_a_dying_worker_fails_only_its_run_and_is_replaced(reference, no_orphans):
    result = make(replicates=8, die_at=(3,)).run(backend="processes", workers=2, store=False, progress=False)
    bad = [r for r in result.records if not r.ok]
    assert [(r.condition, r.replicate) for r in bad] == [("broken", 3)]
    assert bad[0].error.type == "WorkerDied"
    assert "died" in bad[0].error.message and "exit code 3" in bad[0].error.message
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())
    assert len(result.records) == 8 * 4


@pytest.mark.parametrize(("how", "said"), [("segv", "killed by SIGSEGV"),
                                           ("kill", "killed by SIGKILL (e.g. the out-of-memory killer)")])
def test_a_crash_or_a_kill_is_reported_with_its_signal(reference, how, said, no_orphans):
    result = make(replicates=4, die_at=(0, 3), die_how=how).run(backend="processes", workers=2, store=False,
                                                                progress=False)
    bad = sorted((r.key, r.error.type, said in r.error.message) for r in result.records if not r.ok)
    assert bad == [("broken/0", "WorkerDied", True), ("broken/3", "WorkerDied", True)]
    assert sum(r.ok for r in result.records) == 14


def test_a_real_sigint_while_waiting_stops_cleanly(no_orphans):
    import signal
    import threading

    from tests.chaos.scenarios import Arrivals

    arrivals = Arrivals(after=3)  # press once runs flow (worker start-up is slow on a loaded machine)

    def press_ctrl_c() -> None:
        if arrivals.reached.wait(120):
            os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c, daemon=True)
    presser.start()
    result = make(replicates=40, sleep_at=tuple(range(40)), sleep_for=0.2).run(
        backend="processes", workers=2, store=False, progress=False, callbacks=[arrivals])
    presser.join(5)
    assert result.interrupted
    assert 3 <= len(result.records) < 160
    assert all(r.ok for r in result.records)


def test_timeout_kills_the_run_and_replaces_the_worker(no_orphans):
    experiment = make(replicates=4, sleep_at=(1,), sleep_for=30.0)
    result = experiment.run(backend="processes", workers=2, timeout=2.0, store=False, progress=False)
    slow = [r for r in result.records if r.status != "ok"]
    assert [(r.condition, r.replicate, r.status) for r in slow] == [("broken", 1, "timeout")]
    assert slow[0].error.type == "RunTimeout"
    assert "timeout=2s" in slow[0].error.message
    assert sum(r.ok for r in result.records) == 15


def test_ctrl_c_in_a_listener_keeps_finished_runs_and_stops_the_workers(no_orphans):
    stopper = Stopper(after=5)
    result = make(replicates=40, sleep_at=tuple(range(40)), sleep_for=0.05).run(
        backend="processes", workers=2, store=False, progress=False, callbacks=[stopper])
    assert result.interrupted
    assert 5 <= len(result.records) < 160
    assert {r.key for r in result.records} >= {r.key for r in stopper.seen}
    assert not worker_processes()


def test_ctrl_c_raised_by_a_run_stops_the_experiment(no_orphans):
    result = make(replicates=6, interrupt_at=(2,)).run(backend="processes", workers=2, store=False,
                                                        progress=False)
    assert result.interrupted
    assert ("broken", 2) not in {(r.condition, r.replicate) for r in result.records}
    assert all(r.ok for r in result.records)


def test_a_backend_instance_keeps_its_workers_warm_until_closed(no_orphans):
    with ProcessesBackend(workers=2) as backend:
        first = make(replicates=10).run(backend=backend, store=False, progress=False)
        pids = {r.metrics["pid"] for r in first.records}
        second = make(replicates=10, seed=12).run(backend=backend, store=False, progress=False)
        assert {r.metrics["pid"] for r in second.records} <= pids
        assert len(worker_processes()) == 2
    assert not worker_processes()


def test_an_unpicklable_experiment_fails_at_once_naming_the_fix():
    import threading

    lock = threading.Lock()
    experiment = make(replicates=2)
    experiment.treatments = (Treatment("locked", lambda ctx: ctx.add("lock_id", id(lock))),)
    with pytest.raises(BackendError, match="cannot send the experiment to its workers.*backend='threads'") as info:
        experiment.run(backend="processes", workers=2, store=False, progress=False)
    assert info.value.result.records == ()


@pytest.mark.parametrize("factory", [lambda: ProcessPoolExecutor(2), lambda: ThreadPoolExecutor(2)])
def test_an_executor_you_pass_is_used_and_left_open(factory):
    experiment = make(source="rng")
    reference = samples(experiment.run(store=False, progress=False).records)
    with factory() as executor:
        result = experiment.run(backend=executor, store=False, progress=False)
        assert samples(result.records) == reference
        assert result.provenance["backend"] == f"executor:{type(executor).__name__}"
        assert executor.submit(pow, 2, 5).result() == 32  # still usable


def test_the_experiment_crosses_to_each_worker_once(tmp_path, no_orphans):
    from .experiments import CountingSource

    log = tmp_path / "unpickled.txt"
    result = make(source=CountingSource(str(log)), replicates=60).run(backend="processes", workers=2, store=False,
                                                                       progress=False)
    workers = {str(r.metrics["pid"]) for r in result.records}
    assert len(workers) == 2
    assert sorted(log.read_text().split()) == sorted(workers)  # once per worker, not once per run or batch


def test_fail_fast_stops_the_workers_and_raises_with_the_partial_result(no_orphans):
    from crystallize import RunFailedError

    with pytest.raises(RunFailedError, match="planned failure at replicate 1") as info:
        make(replicates=30, fail_at=(1,)).run(backend="processes", workers=2, store=False, progress=False,
                                              fail_fast=True)
    assert info.value.result is not None and len(info.value.result.records) >= 1
    assert not worker_processes()


def test_a_worker_that_died_while_idle_is_replaced(no_orphans):
    import signal

    reference = samples(make(replicates=4).run(store=False, progress=False).records)
    with ProcessesBackend(workers=2) as backend:
        make(replicates=4).run(backend=backend, store=False, progress=False)
        for process in worker_processes():
            os.kill(process.pid, signal.SIGKILL)
            process.wait(5)
        result = make(replicates=4).run(backend=backend, store=False, progress=False)
        assert samples(result.records) == reference
        assert len(worker_processes()) == 2


def test_a_broken_executor_of_yours_fails_the_runs_it_can_no_longer_run():
    with ProcessPoolExecutor(2) as executor:
        result = make(replicates=6, die_at=(2,)).run(backend=executor, store=False, progress=False)
    assert len(result.records) == 24  # the experiment finishes
    died = [r for r in result.records if not r.ok]
    assert died and all(r.error.type == "WorkerDied" for r in died)
    assert "broken" in died[0].error.message.lower() or "terminated" in died[0].error.message.lower()
    assert ("broken", 2) in {(r.condition, r.replicate) for r in died}
