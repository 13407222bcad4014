from __future__ import annotations

import threading

import pytest

from crystallize.execution import SharedRandomStateError

from .experiments import make, samples


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_threads_give_the_serial_numbers_when_runs_use_ctx_rng(workers):
    reference = samples(make(source="rng").run(store=False, progress=False).records)
    result = make(source="rng").run(backend="threads", workers=workers, store=False, progress=False)
    assert samples(result.records) == reference


def test_runs_drawing_from_the_shared_global_generators_are_refused():
    with pytest.raises(SharedRandomStateError, match=r"ctx\.rng.*backend='processes'") as info:
        make(source="global", replicates=20).run(backend="threads", workers=2, store=False, progress=False)
    assert info.value.result.interrupted  # the partial result is attached


def test_one_thread_may_use_the_global_generators():
    reference = samples(make().run(store=False, progress=False).records)
    result = make().run(backend="threads", workers=1, store=False, progress=False)
    assert samples(result.records) == reference


def test_failures_are_recorded_on_threads():
    result = make(source="rng", fail_at=(1,)).run(backend="threads", workers=2, store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/1", "ValueError")]


def test_timeout_records_the_run_at_its_deadline_and_leaves_the_thread():
    result = make(source="rng", replicates=3, sleep_at=(0,), sleep_for=2.0).run(
        backend="threads", workers=2, timeout=0.3, store=False, progress=False)
    slow = [r for r in result.records if r.status != "ok"]
    assert [(r.key, r.status) for r in slow] == [("broken/0", "timeout")]
    assert "runs on in the background" in slow[0].error.message
    assert sum(r.ok for r in result.records) == 11
    for thread in threading.enumerate():  # let the abandoned run finish before the next test
        if thread.name.startswith("crystallize"):
            thread.join(5)
