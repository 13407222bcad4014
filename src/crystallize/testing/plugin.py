"""pytest plugin: run a small experiment once per test session and share its result.

Installed with crystallize (entry point ``pytest11``), it offers the
session-scoped fixture ``crystallize_result``: call it with an experiment (or a
function that builds one) and it returns the :class:`~crystallize.core.result.Result`,
running the experiment only the first time in the session::

    from crystallize.testing import assert_accepted

    def test_new_model_is_more_accurate(crystallize_result):
        result = crystallize_result(build_experiment)
        assert_accepted(result, "accuracy", treatment="new_model")

Runs are cached by the experiment's fingerprint, its replicate count and the
``run()`` arguments, so several tests asking for the same experiment share one
run. By default nothing is stored and no progress bar is drawn
(``store=False, progress=False``); pass ``run()`` arguments to change that.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import pytest

__all__ = ["ExperimentCache", "crystallize_result"]

_DEFAULTS: dict[str, Any] = {"store": False, "progress": False}


class ExperimentCache:
    """Runs each distinct experiment once and hands out its result."""

    def __init__(self) -> None:
        self._results: dict[tuple[Hashable, ...], Any] = {}
        self.runs = 0

    def __call__(self, experiment: Any, **run_options: Any) -> Any:
        """The result of ``experiment`` (an ``Experiment``, or a function returning one)
        run with ``run_options`` (``Experiment.run`` arguments), run once per session.

        Raises:
            TypeError: ``experiment`` is not an experiment, or a ``run()`` argument cannot
                be part of the cache key (it is not hashable).
        """
        built = experiment() if callable(experiment) and not hasattr(experiment, "run") else experiment
        if not (hasattr(built, "run") and hasattr(built, "fingerprint")):
            raise TypeError(f"crystallize_result: expected an Experiment or a function returning one, "
                            f"got {type(built).__name__}")
        options = {**_DEFAULTS, **run_options}
        try:
            key = (built.fingerprint(), built.replicates, *sorted(options.items()))
            hash(key)
        except TypeError as exc:
            raise TypeError(f"crystallize_result: run() arguments must be hashable to cache the result "
                            f"({exc}); pass a backend by name, e.g. backend='threads'") from exc
        if key not in self._results:
            self._results[key] = built.run(**options)
            self.runs += 1
        return self._results[key]


@pytest.fixture(scope="session")
def crystallize_result() -> Callable[..., Any]:
    """``crystallize_result(experiment, **run_options)``: the experiment's result, run
    once per test session (see :class:`ExperimentCache`)."""
    return ExperimentCache()
