"""Bad arguments get a one-line error naming the value and what to pass; NumPy
integers are whole numbers (issue 12, point 21: seed, timeout, replicates)."""

from __future__ import annotations

import numpy as np
import pytest

from crystallize import Experiment, Pipeline
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.store import open as open_store

from .scenarios import HeldSource, Work


def _experiment(**kwargs: object) -> Experiment:
    return Experiment(HeldSource(), Pipeline([Work()]), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [2**63, 2**64, 10**30])
def test_a_seed_the_store_cannot_keep_is_refused_at_once(seed):
    with pytest.raises(ExperimentDefinitionError) as info:
        _experiment(seed=seed)
    message = str(info.value)
    assert "\n" not in message
    assert f"got {seed}" in message and "from 0 to 2**63 - 1" in message


def test_the_largest_seed_the_store_keeps_runs_and_is_stored(tmp_path):
    result = _experiment(seed=2**63 - 1, replicates=2).run(store=tmp_path, progress=False)
    assert all(r.ok for r in result.records)
    (info,) = open_store(tmp_path).experiment_runs()
    assert info.seed == 2**63 - 1 and info.status == "completed"


@pytest.mark.parametrize(("timeout", "said"), [
    (-1, "timeout=-1 is out of range: pass seconds > 0"),
    (0, "timeout=0 is out of range"),
    (float("nan"), "timeout=nan is out of range"),
    (float("inf"), "timeout=inf is out of range"),
    (1e12, "timeout=1000000000000.0 is out of range: pass seconds > 0 and at most 31536000 (one year), or None"),
    ("5", "timeout must be a number of seconds or None, got '5' (str)"),
    (True, "timeout must be a number of seconds or None, got True (bool)"),
])
def test_a_bad_timeout_is_refused_before_anything_runs(tmp_path, timeout, said):
    with pytest.raises(ExperimentDefinitionError) as info:
        _experiment().run(timeout=timeout, store=tmp_path, progress=False)
    assert said in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "store.db").exists()  # refused before the store was opened


def test_numpy_numbers_are_accepted_as_they_are():
    experiment = _experiment(replicates=np.int64(3), seed=np.int64(5))
    assert type(experiment.replicates) is int and type(experiment.seed) is int
    result = experiment.run(store=False, progress=False, timeout=np.float64(30), workers=np.int64(1))
    assert len(result.records) == 3
    plain = _experiment(replicates=3, seed=5).run(store=False, progress=False)
    assert [r.metrics for r in result.records] == [r.metrics for r in plain.records]
