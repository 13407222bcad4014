"""The step cache: hits, never stale across conditions, random state, damage and concurrency."""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import stat
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest

from crystallize import Experiment, PipelineStep, Treatment, pipeline_step
from crystallize.core.context import FrozenContext
from crystallize.core.pipeline import CacheLookup
from crystallize.store import FileStepCache
from crystallize.store import open as open_store

from .conftest import LoggedSource


def _count(log_dir: str, what: str) -> None:
    (Path(log_dir) / f"{what}-{uuid.uuid4().hex}").touch()


def _counted(log_dir: Path, what: str) -> int:
    return sum(1 for p in log_dir.iterdir() if p.name.startswith(f"{what}-"))


class Scaled(PipelineStep):
    """Cacheable: multiplies by ``ctx.get("scale", 1.0)``; absent in the baseline."""

    cacheable = True

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir

    def __call__(self, data, ctx):
        _count(self.log_dir, "scaled")
        return data * ctx.get("scale", 1.0)


class Plain(PipelineStep):
    """Cacheable and reads nothing from the context: one output per input, for every condition."""

    cacheable = True

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir

    def __call__(self, data, ctx):
        _count(self.log_dir, "plain")
        return data + 1.0


class Membership(PipelineStep):
    """Cacheable: branches on ``"flag" in ctx`` only."""

    cacheable = True

    def __call__(self, data, ctx):
        return data + (100.0 if "flag" in ctx else 0.0)


class Everything(PipelineStep):
    """Cacheable: looks at every key of the context."""

    cacheable = True

    def __call__(self, data, ctx):
        return data + len(list(ctx))


@pipeline_step(cacheable=True)
def power(data, ctx, *, exponent=1.0):
    return float(abs(data)) ** exponent


class Report(PipelineStep):
    def __call__(self, data, ctx):
        return {"score": float(data)}


def _store_experiment(log_dir, steps, treatments=(), replicates=3, name="cached", seed=4):
    return Experiment(LoggedSource(str(log_dir)), steps, list(treatments), replicates=replicates, seed=seed,
                      name=name)


def test_a_second_run_hits_the_cache_and_records_hit_and_key(store_path, log_dir):
    first = _store_experiment(log_dir, [Plain(str(log_dir)), Report()]).run(store=store_path, progress=False)
    second = _store_experiment(log_dir, [Plain(str(log_dir)), Report()]).run(store=store_path, progress=False)
    assert _counted(log_dir, "plain") == 3
    assert second.metrics == first.metrics
    assert [r.steps[0].cache for r in first.records] == ["miss"] * 3
    assert [r.steps[0].cache for r in second.records] == ["hit"] * 3
    assert [r.steps[0].cache_key for r in second.records] == [r.steps[0].cache_key for r in first.records]
    assert all(len(r.steps[0].cache_key) == 40 for r in first.records)
    assert second.records[0].steps[1].cache is None  # not cacheable
    loaded = open_store(store_path).load_records(second.run_id)
    assert [r.steps[0].cache for r in loaded] == ["hit"] * 3


def test_a_treatment_that_changes_a_value_the_step_reads_never_gets_another_conditions_output(store_path, log_dir):
    treatments = [Treatment("triple", {"scale": 3.0}), Treatment("half", {"scale": 0.5})]
    for _ in range(2):  # cold cache, then warm cache
        result = _store_experiment(log_dir, [Scaled(str(log_dir)), Report()], treatments).run(
            store=store_path, progress=False)
        base = np.array(result.metrics["baseline"]["score"])
        np.testing.assert_allclose(result.metrics["triple"]["score"], base * 3.0)
        np.testing.assert_allclose(result.metrics["half"]["score"], base * 0.5)
    assert _counted(log_dir, "scaled") == 9  # three conditions x three replicates, each computed once
    assert {r.steps[0].cache for r in result.records} == {"hit"}


def test_keyword_parameters_filled_from_the_context_are_part_of_the_key(store_path, log_dir):
    treatments = [Treatment("squared", {"exponent": 2.0})]
    for _ in range(2):
        result = _store_experiment(log_dir, [power(), Report()], treatments).run(store=store_path, progress=False)
        np.testing.assert_allclose(result.metrics["squared"]["score"],
                                   np.square(result.metrics["baseline"]["score"]))


def test_an_absent_key_is_a_value_of_its_own(store_path, log_dir):
    treatments = [Treatment("flagged", {"flag": None})]
    for _ in range(2):
        result = _store_experiment(log_dir, [Membership(), Report()], treatments).run(store=store_path, progress=False)
        np.testing.assert_allclose(np.subtract(result.metrics["flagged"]["score"], result.metrics["baseline"]["score"]),
                                   100.0)


def test_a_step_that_reads_every_key_is_keyed_on_every_key(store_path, log_dir):
    treatments = [Treatment("extra", {"unrelated": 1})]
    for _ in range(2):
        result = _store_experiment(log_dir, [Everything(), Report()], treatments).run(store=store_path, progress=False)
        np.testing.assert_allclose(np.subtract(result.metrics["extra"]["score"], result.metrics["baseline"]["score"]),
                                   1.0)


def test_conditions_that_do_not_change_what_the_step_reads_share_its_output(store_path, log_dir):
    result = _store_experiment(log_dir, [Plain(str(log_dir)), Report()], [Treatment("t", {"unused": 1})]).run(
        store=store_path, progress=False)
    assert _counted(log_dir, "plain") == 3  # the treatment's runs hit the baseline's entries
    assert [r.steps[0].cache for r in result.records] == ["miss", "hit"] * 3
    assert result.metrics["t"]["score"] == result.metrics["baseline"]["score"]


def test_other_input_data_misses(store_path, log_dir):
    _store_experiment(log_dir, [Plain(str(log_dir)), Report()], seed=1).run(store=store_path, progress=False)
    _store_experiment(log_dir, [Plain(str(log_dir)), Report()], seed=2).run(store=store_path, progress=False)
    assert _counted(log_dir, "plain") == 6


HELPER_MODULE = '''
import uuid
from pathlib import Path
from crystallize import PipelineStep

OFFSET = 1.0

def helper(x):
    return x + OFFSET

class Step(PipelineStep):
    cacheable = True

    def __init__(self, log_dir):
        self.log_dir = log_dir

    def __call__(self, data, ctx):
        (Path(self.log_dir) / f"mod-{uuid.uuid4().hex}").touch()
        return {"score": helper(data)}
'''


def test_a_change_in_a_helper_or_a_constant_the_step_uses_misses(store_path, log_dir, load_module):
    def run(source):
        module = load_module(source)
        return _store_experiment(log_dir, [module.Step(str(log_dir))], replicates=2).run(
            store=store_path, progress=False)

    first = run(HELPER_MODULE)
    assert run(HELPER_MODULE).metrics == first.metrics and _counted(log_dir, "mod") == 2
    changed = run(HELPER_MODULE.replace("return x + OFFSET", "return x + OFFSET * 2"))
    assert _counted(log_dir, "mod") == 4
    np.testing.assert_allclose(np.subtract(changed.metrics["baseline"]["score"], first.metrics["baseline"]["score"]),
                               1.0)
    run(HELPER_MODULE.replace("OFFSET = 1.0", "OFFSET = 5.0"))
    assert _counted(log_dir, "mod") == 6


class RandomFeatures(PipelineStep):
    """Cacheable and random: draws from ``ctx.rng`` and the global generators, adds a key."""

    cacheable = True

    def __init__(self, log_dir: str) -> None:
        self.log_dir = log_dir

    def __call__(self, data, ctx):
        _count(self.log_dir, "random")
        ctx["n_features"] = 3
        return data + ctx.rng.normal(size=3) + np.random.random(3)


class UseRandomness(PipelineStep):
    """Not cacheable: draws again, so it sees whatever state the cached step left behind."""

    def __call__(self, data, ctx):
        return {"score": float(np.sum(data)) + ctx.rng.random() + np.random.random() + ctx["n_features"]}


def test_a_hit_restores_random_state_and_added_keys_so_later_steps_see_the_same(store_path, log_dir):
    steps = lambda: [RandomFeatures(str(log_dir)), UseRandomness()]  # noqa: E731
    treatments = [Treatment("t", {"unused": 1})]
    uncached = _store_experiment(log_dir, steps(), treatments).run(store=False, progress=False)
    cold = _store_experiment(log_dir, steps(), treatments).run(store=store_path, progress=False)
    warm = _store_experiment(log_dir, steps(), treatments).run(store=store_path, progress=False)
    assert uncached.metrics == cold.metrics == warm.metrics
    assert {r.steps[0].cache for r in warm.records} == {"hit"}
    assert _counted(log_dir, "random") == 6 + 3  # uncached 6; cold: 3 (conditions share a replicate's state)


def _damage(store_path: Path, how: str) -> list[Path]:
    entries = sorted((store_path / "cache").rglob("*.entry"))
    for entry in entries:
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2] if how == "truncate" else data[:-5] + b"xxxxx")
    return entries


@pytest.mark.parametrize("how", ["truncate", "garble"])
def test_a_damaged_entry_is_a_miss_recomputed_and_overwritten(store_path, log_dir, caplog, how):
    first = _store_experiment(log_dir, [Plain(str(log_dir)), Report()]).run(store=store_path, progress=False)
    entries = _damage(store_path, how)
    assert len(entries) == 3
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        second = _store_experiment(log_dir, [Plain(str(log_dir)), Report()]).run(store=store_path, progress=False)
    assert "is damaged" in caplog.text and "recomputing" in caplog.text
    assert second.metrics == first.metrics and _counted(log_dir, "plain") == 6
    third = _store_experiment(log_dir, [Plain(str(log_dir)), Report()]).run(store=store_path, progress=False)
    assert {r.steps[0].cache for r in third.records} == {"hit"} and _counted(log_dir, "plain") == 6


def test_the_cache_folder_is_private_and_the_cache_pickles_as_a_path(store_path, log_dir):
    _store_experiment(log_dir, [Plain(str(log_dir)), Report()]).run(store=store_path, progress=False)
    assert stat.S_IMODE(os.stat(store_path / "cache").st_mode) == 0o700
    cache = pickle.loads(pickle.dumps(FileStepCache(store_path / "cache")))
    assert cache.root == str(store_path / "cache") and cache.__getstate__() == {"root": cache.root}


class Unpicklable(PipelineStep):
    cacheable = True

    def __call__(self, data, ctx):
        return (lambda: data)  # a lambda cannot be pickled


class CallIt(PipelineStep):
    def __call__(self, data, ctx):
        return {"score": data()}


class LockedInput(PipelineStep):
    def __call__(self, data, ctx):
        return {"value": data, "lock": threading.Lock()}


class UsesLocked(PipelineStep):
    cacheable = True

    def __call__(self, data, ctx):
        return {"score": data["value"]}


def test_outputs_or_inputs_that_cannot_be_pickled_are_simply_not_cached(store_path, log_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        result = _store_experiment(log_dir, [Unpicklable(), CallIt()]).run(store=store_path, progress=False)
        again = _store_experiment(log_dir, [LockedInput(), UsesLocked()]).run(store=store_path, progress=False)
    assert result.errors == {} and again.errors == {}
    assert [r.steps[0].cache for r in result.records] == ["miss"] * 3
    assert "is not cached" in caplog.text


class SavesArtifact(PipelineStep):
    cacheable = True

    def __call__(self, data, ctx):
        ctx.artifacts.save("x", b"1")
        return {"score": data}


def test_a_step_that_saves_artifacts_is_not_cached(store_path, log_dir):
    for _ in range(2):
        result = _store_experiment(log_dir, [SavesArtifact()]).run(store=store_path, progress=False)
    assert [r.steps[0].cache for r in result.records] == ["miss"] * 3
    assert all(r.artifacts == ("x",) for r in result.records)


# -- concurrent writers --------------------------------------------------------------------------
ARRAY = np.arange(200_000, dtype=np.float64)


class Identity(PipelineStep):
    cacheable = True

    def __call__(self, data, ctx):
        return data


def _lookup(root: str):
    cache = FileStepCache(root)
    return cache, cache.lookup(Identity(), ARRAY[:10], FrozenContext({"seed": 1}, seed=1))


def _writer(root: str, rounds: int) -> None:
    cache, found = _lookup(root)
    pending = found.token if found.token is not None else _lookup_miss_token(root)
    for i in range(rounds):
        cache.save(CacheLookup(False, None, None, pending), ARRAY, {})


def _lookup_miss_token(root: str):
    from crystallize.store.cache import _Pending
    from crystallize.store.tracking import TrackingContext, global_state

    cache = FileStepCache(root)
    base = cache._base(Identity(), ARRAY[:10])
    return _Pending("Identity", base, TrackingContext(FrozenContext({"seed": 1}, seed=1)), global_state(), 0)


def test_concurrent_writers_never_leave_a_torn_entry(tmp_path):
    root = str(tmp_path / "cache")
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_writer, args=(root, 40)) for _ in range(2)]
    for process in writers:
        process.start()
    hits = 0
    while any(p.is_alive() for p in writers):
        cache, found = _lookup(root)
        if found.hit:
            hits += 1
            np.testing.assert_array_equal(found.value, ARRAY)
    for process in writers:
        process.join()
        assert process.exitcode == 0
    cache, found = _lookup(root)
    assert found.hit and hits > 0
    np.testing.assert_array_equal(found.value, ARRAY)
    assert not [p for p in Path(root).rglob("*") if p.name.endswith(".tmp")]


def test_a_cache_that_cannot_be_written_never_fails_the_run(tmp_path, log_dir, caplog):
    store_path = tmp_path / "store"
    store_path.mkdir()
    (store_path / "cache").write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        result = _store_experiment(log_dir, [Plain(str(log_dir)), Report()]).run(store=store_path, progress=False)
    assert result.errors == {} and [r.steps[0].cache for r in result.records] == ["miss"] * 3
    assert "is not cached: cannot write" in caplog.text
