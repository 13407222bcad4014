"""Fixtures of the execution tests: real engines, started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psutil
import pytest


def worker_processes() -> list[psutil.Process]:
    """Our worker processes still alive (children of this test process)."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "crystallize-worker" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.Error:
            continue
    return out


@pytest.fixture
def no_orphans() -> Iterator[None]:
    """Fails the test if worker processes it started are still alive afterwards."""
    before = {p.pid for p in worker_processes()}
    yield
    left = [p for p in worker_processes() if p.pid not in before]
    assert not left, f"worker processes left running: {[p.pid for p in left]}"


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[tuple[Any, Any]]:
    """A real Dask LocalCluster with 2 worker processes, and a client of it (not the default client)."""
    distributed = pytest.importorskip("distributed")
    import dask

    from crystallize.execution.dask_backend import KEEP_NANNIES

    settings = {"distributed.scheduler.allowed-failures": 0,  # a dying run kills one worker, not 4
                # tests kill workers often: a nanny must outlive any timer of an earlier death
                "distributed.deploy.lost-worker-timeout": KEEP_NANNIES}
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=40)
        client = distributed.Client(cluster, set_as_default=False)
        yield cluster, client
        client.close()
        cluster.close()


@pytest.fixture
def dask_client(dask_cluster: tuple[Any, Any]) -> Any:
    """The session's Dask client, once both its workers are there (one a test killed may be restarting)."""
    client = dask_cluster[1]
    client.wait_for_workers(2, timeout=60)
    return client


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """A real local Ray with 2 CPUs, started once."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 1024**2,
             configure_logging=False)
    yield ray
    ray.shutdown()
