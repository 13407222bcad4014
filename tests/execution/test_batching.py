from __future__ import annotations

import itertools

import pytest

from crystallize.core.plan import RunSpec, plan_runs
from crystallize.core.record import RunRecord
from crystallize.execution.batching import BatchSizer, Lost, run_batches
from crystallize.execution.worker import BatchResult


def record(spec: RunSpec, duration: float = 0.001) -> RunRecord:
    return RunRecord(spec.condition, spec.replicate, spec.seed, "ok", {"x": spec.replicate}, None, duration)


class FakePool:
    """Runs batches at once in this thread; ``crash`` names the runs that kill their worker."""

    def __init__(self, slots: int = 2, crash=(), lose_unstarted=0, never_start=()):
        self.slots, self.depth, self.target = slots, 2 * slots, 0.01
        self.crash = set(crash)
        self.lose_unstarted = lose_unstarted
        self.never_start = set(never_start)
        self.ids = itertools.count()
        self.pending: dict[int, list[RunSpec]] = {}
        self.batches: list[list[str]] = []
        self.killed: list[int] = []

    def submit(self, batch):
        handle = next(self.ids)
        self.pending[handle] = batch
        self.batches.append([s.key for s in batch])
        return handle

    def poll(self, timeout):
        out = []
        for handle, batch in list(self.pending.items()):
            if any(s.key in self.never_start for s in batch):
                continue
            del self.pending[handle]
            if self.lose_unstarted:
                self.lose_unstarted -= 1
                out.append((handle, Lost(False, "worker gone before starting")))
            elif any(s.key in self.crash for s in batch):
                out.append((handle, Lost(True, "the worker died (exit code 3)")))
            else:
                out.append((handle, BatchResult([record(s) for s in batch], False)))
        return out

    def started(self, handle):
        return 0.0

    def kill(self, handle):
        self.killed.append(handle)
        del self.pending[handle]
        return "its worker was replaced"


SPECS = plan_runs(1, ["baseline", "t"], 20)


def test_every_run_is_emitted_once_and_batches_grow_from_one():
    pool, out = FakePool(), []
    run_batches(pool, SPECS, out.append)
    assert sorted(r.key for r in out) == sorted(s.key for s in SPECS)
    assert len(pool.batches[0]) == 1 and max(map(len, pool.batches)) > 1


def test_a_crash_in_a_batch_reruns_its_runs_one_by_one_and_fails_only_the_culprit():
    pool, out = FakePool(crash={"t/7"}), []
    run_batches(pool, SPECS, out.append)
    failed = [r for r in out if not r.ok]
    assert [(r.key, r.error.type, r.error.message) for r in failed] == [
        ("t/7", "WorkerDied", "the worker died (exit code 3)")]
    assert sorted(r.key for r in out) == sorted(s.key for s in SPECS)
    assert ["t/7"] in pool.batches  # retried alone
    assert any("t/7" in b and len(b) > 1 for b in pool.batches)  # after dying in a larger batch


def test_batches_lost_before_starting_are_run_again():
    pool, out = FakePool(lose_unstarted=3), []
    run_batches(pool, SPECS, out.append)
    assert all(r.ok for r in out) and len(out) == len(SPECS)


def test_a_run_past_its_timeout_is_killed_and_recorded():
    pool, out = FakePool(never_start={"baseline/3"}), []
    run_batches(pool, SPECS, out.append, timeout=0.01)
    timed = [r for r in out if r.status == "timeout"]
    assert [(r.key, r.error.type) for r in timed] == [("baseline/3", "RunTimeout")]
    assert "timeout=0.01s; its worker was replaced" in timed[0].error.message
    assert len(pool.killed) == 1 and all(len(b) == 1 for b in pool.batches)


def test_an_interrupted_batch_emits_its_records_then_raises():
    class Interrupting(FakePool):
        def poll(self, timeout):
            handle, batch = self.pending.popitem()
            return [(handle, BatchResult([record(batch[0])], True))]

    out = []
    with pytest.raises(KeyboardInterrupt):
        run_batches(Interrupting(), SPECS, out.append)
    assert len(out) == 1


@pytest.mark.parametrize(("duration", "remaining", "expected"), [
    (0.001, 10_000, 50),     # 50 ms / 1 ms
    (0.000_01, 10_000, 1250),  # capped to keep four batches per worker
    (0.000_01, 100_000, 5000),  # and never more than 5000
    (1.0, 10_000, 1),         # long runs go one by one
    (0.001, 3, 1),
])
def test_batch_size_follows_the_measured_run_time(duration, remaining, expected):
    sizer = BatchSizer(slots=2, target=0.05)
    assert sizer.size(remaining) == 1  # nothing measured yet
    sizer.observe([record(SPECS[0], duration)] * 4)
    assert sizer.size(remaining) == expected
    assert BatchSizer(2, 0.05, single=True).size(remaining) == 1


def test_a_shortest_batch_duration_outweighs_the_balance_across_workers():
    sizer = BatchSizer(slots=2, target=0.1, shortest=0.1)
    sizer.observe([record(SPECS[0], 0.000_01)] * 2)
    assert sizer.size(160) == 20  # two fast runs say too little: the balance holds (not 158 runs in one batch)
    sizer = BatchSizer(slots=2, target=0.1, shortest=0.1)
    sizer.observe([record(SPECS[0], 0.02)] * 8)
    assert sizer.size(12) == 5  # 100 ms of 20 ms runs, where the balance across 2 workers alone takes 2
    assert BatchSizer(slots=2, target=0.1, single=True, shortest=0.1).size(12) == 1
    unbounded = BatchSizer(slots=2, target=0.1)
    unbounded.observe([record(SPECS[0], 0.02)] * 4)
    assert unbounded.size(12) == 2


def test_a_suspect_lost_before_starting_is_still_run_alone():
    class Uncertain(FakePool):
        """Deaths are uncertain (as on Dask), and the first retry of t/7 is lost before it starts."""

        lost_once = False

        def poll(self, timeout):
            out = []
            for handle, batch in list(self.pending.items()):
                del self.pending[handle]
                keys = [s.key for s in batch]
                if keys == ["t/7"] and not self.lost_once:
                    self.lost_once = True
                    out.append((handle, Lost(False, "its worker died before it started")))
                elif "t/7" in keys:
                    out.append((handle, Lost(True, "the worker died", certain=False)))
                else:
                    out.append((handle, BatchResult([record(s) for s in batch], False)))
            return out

    pool, out = Uncertain(), []
    run_batches(pool, SPECS, out.append)
    assert [r.key for r in out if not r.ok] == ["t/7"]
    first_alone = pool.batches.index(["t/7"])
    later = [b for b in pool.batches[first_alone + 1:] if "t/7" in b]
    assert later == [["t/7"]]  # lost before starting, then run alone again, not inside a batch
    assert len(out) == len(SPECS)
