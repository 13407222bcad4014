from __future__ import annotations

import pytest

from .experiments import Stopper, make, samples

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def reference():
    return samples(make().run(store=False, progress=False).records)


def test_an_initialised_ray_gives_the_serial_numbers_and_stays_up(ray_session, reference):
    result = make().run(backend="ray", store=False, progress=False)
    assert samples(result.records) == reference
    assert result.provenance["backend"] == "ray"
    assert ray_session.is_initialized()
    by_module = make().run(backend=ray_session, store=False, progress=False)
    assert samples(by_module.records) == reference
    pids = {r.metrics["pid"] for r in make(replicates=30).run(backend="ray", store=False, progress=False).records}
    assert len(pids) >= 2


def test_failures_are_recorded_and_the_rest_kept(ray_session, reference):
    result = make(fail_at=(4,)).run(backend="ray", store=False, progress=False)
    assert [(r.key, r.error.type) for r in result.records if not r.ok] == [("broken/4", "ValueError")]
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_a_dying_worker_fails_only_its_run(ray_session, reference):
    result = make(die_at=(2,)).run(backend="ray", store=False, progress=False)
    bad = [r for r in result.records if not r.ok]
    assert [(r.key, r.error.type) for r in bad] == [("broken/2", "WorkerDied")]
    assert "Ray worker running this run died" in bad[0].error.message
    got = samples(result.records)
    assert all(got[key] == value for key, value in reference.items())


def test_timeout_cancels_the_task_and_kills_its_worker(ray_session):
    result = make(replicates=3, sleep_at=(0,), sleep_for=60.0).run(backend="ray", timeout=3.0, store=False,
                                                                   progress=False)
    slow = [r for r in result.records if r.status != "ok"]
    assert [(r.key, r.status, r.error.type) for r in slow] == [("broken/0", "timeout", "RunTimeout")]
    assert "its Ray worker process was killed" in slow[0].error.message
    assert sum(r.ok for r in result.records) == 11


def test_ctrl_c_keeps_the_finished_runs_and_cancels_the_rest(ray_session):
    stopper = Stopper(after=3)
    result = make(replicates=20, sleep_at=tuple(range(20)), sleep_for=0.1).run(
        backend="ray", store=False, progress=False, callbacks=[stopper])
    assert result.interrupted and 3 <= len(result.records) < 80
    assert ray_session.is_initialized()


@pytest.mark.slow
def test_ray_by_name_starts_a_local_ray_and_shuts_it_down(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "by_name.py"
    script.write_text(
        "import ray\n"
        "from tests.execution.experiments import make, samples\n"
        "result = make().run(backend='ray', workers=2, store=False, progress=False)\n"
        "assert samples(result.records) == samples(make().run(store=False, progress=False).records)\n"
        "print('initialised after:', ray.is_initialized())\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, cwd=root,
                          env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "initialised after: False" in done.stdout


def test_the_experiment_crosses_to_each_worker_once(ray_session, tmp_path):
    from .experiments import CountingSource

    log = tmp_path / "unpickled.txt"
    result = make(source=CountingSource(str(log)), replicates=60).run(backend="ray", store=False,
                                                                       progress=False)
    workers = {str(r.metrics["pid"]) for r in result.records}
    unpickled = log.read_text().split()
    assert len(unpickled) == len(set(unpickled))  # no process unpickled it twice
    assert workers <= set(unpickled)
