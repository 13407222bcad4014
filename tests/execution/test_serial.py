from __future__ import annotations

import threading

from .experiments import Stopper, make, samples


def test_timeout_interrupts_a_slow_run_in_the_main_thread():
    result = make(replicates=3, sleep_at=(1,), sleep_for=30.0).run(timeout=0.5, store=False, progress=False)
    slow = [r for r in result.records if r.status != "ok"]
    assert [(r.condition, r.replicate, r.status, r.error.type) for r in slow] == [
        ("broken", 1, "timeout", "RunTimeout")]
    assert "was interrupted" in slow[0].error.message
    assert 0.5 <= slow[0].duration < 5
    assert sum(r.ok for r in result.records) == 11


def test_timeout_outside_the_main_thread_is_recorded_after_the_run():
    box = {}

    def go():
        box["result"] = make(replicates=2, sleep_at=(0,), sleep_for=0.3).run(timeout=0.1, store=False,
                                                                              progress=False)

    thread = threading.Thread(target=go)
    thread.start()
    thread.join()
    slow = [r for r in box["result"].records if r.status != "ok"]
    assert [(r.condition, r.replicate, r.status) for r in slow] == [("broken", 0, "timeout")]
    assert "could not be interrupted" in slow[0].error.message
    assert slow[0].metrics == {}


def test_fast_runs_are_untouched_by_a_timeout():
    plain = make().run(store=False, progress=False)
    timed = make().run(timeout=10, store=False, progress=False)
    assert samples(timed.records) == samples(plain.records)


def test_ctrl_c_from_a_run_returns_the_finished_runs():
    result = make(replicates=5, interrupt_at=(3,)).run(store=False, progress=False)
    assert result.interrupted
    # plan order is replicate-major: replicates 0-2 of every condition and lam/closure of 3 finished
    assert len(result.records) == 3 * 4 + 3
    assert all(r.ok for r in result.records)


def test_ctrl_c_from_a_listener_returns_the_finished_runs():
    stopper = Stopper(after=4)
    result = make().run(store=False, progress=False, callbacks=[stopper])
    assert result.interrupted
    assert [r.key for r in result.records] == [r.key for r in stopper.seen]
