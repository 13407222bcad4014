from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from crystallize import ExperimentDefinitionError
from crystallize.execution import (
    ExecutorBackend,
    MissingExtraError,
    ProcessesBackend,
    SerialBackend,
    ThreadsBackend,
    resolve_backend,
)


def test_names_give_backends_with_their_worker_count():
    assert isinstance(resolve_backend("serial"), SerialBackend)
    threads = resolve_backend("threads", 3)
    assert isinstance(threads, ThreadsBackend) and threads.workers == 3
    processes = resolve_backend("processes", 2)
    assert isinstance(processes, ProcessesBackend) and processes.workers == 2 and not processes.keep_alive


def test_objects_pass_through_and_executors_are_wrapped():
    backend = SerialBackend()
    assert resolve_backend(backend) is backend
    with ThreadPoolExecutor(2) as executor:
        wrapped = resolve_backend(executor)
        assert isinstance(wrapped, ExecutorBackend) and wrapped.executor is executor


def test_an_unknown_name_suggests_the_closest():
    with pytest.raises(ExperimentDefinitionError, match=r"unknown backend 'thread' \(did you mean 'threads'\?\)"):
        resolve_backend("thread")


def test_an_unknown_object_lists_what_is_accepted():
    with pytest.raises(ExperimentDefinitionError, match="is not a backend: use one of.*Executor.*Client"):
        resolve_backend(42)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_bad_worker_counts_are_refused(workers):
    with pytest.raises(ExperimentDefinitionError, match=f"workers must be a whole number >= 1 or None, got {workers!r}"):
        resolve_backend("threads", workers)


def hide(monkeypatch, name: str, module: str) -> None:
    """Make ``import <module>`` fail, as if the extra were not installed."""
    monkeypatch.setitem(sys.modules, module, None)
    for cached in [m for m in sys.modules if m.startswith(f"crystallize.execution.{name}")]:
        monkeypatch.delitem(sys.modules, cached)


@pytest.mark.parametrize(("name", "module", "package"), [
    ("dask", "distributed", "Dask's distributed scheduler"), ("ray", "ray", "Ray")])
def test_a_missing_extra_fails_at_once_naming_the_install_command(monkeypatch, name, module, package):
    hide(monkeypatch, name, module)
    with pytest.raises(MissingExtraError) as info:
        resolve_backend(name, 2)
    assert str(info.value) == (f'backend="{name}" needs {package}, which is not installed; '
                               f'install it with: pip install "crystallize[{name}]"')
    assert isinstance(info.value, ImportError)


def test_a_missing_extra_stops_the_experiment_before_any_run(monkeypatch):
    from .experiments import Stopper, make

    hide(monkeypatch, "ray", "ray")
    seen = Stopper(after=10**6)
    with pytest.raises(MissingExtraError):
        make().run(backend="ray", store=False, progress=False, callbacks=[seen])
    assert seen.seen == []
