"""Issue 11.7: with the default store and a cacheable step (the YAML quickstart), a treatment
key that nothing reads is still reported: looking a step up in the cache is not a read by the
user's code, and a cache hit counts the keys the step read when it ran."""

from __future__ import annotations

import warnings

from crystallize import CrystallizeWarning, DataSource, Experiment, PipelineStep, Treatment


class Draw(DataSource):
    def fetch(self, ctx):
        return float(ctx.rng.normal())


class Train(PipelineStep):
    cacheable = True

    def __call__(self, data, ctx):
        return data * ctx.get("learning_rate", 0.1)


class Report(PipelineStep):
    def __call__(self, data, ctx):
        return {"accuracy": data}


def _experiment() -> Experiment:
    treatment = Treatment("faster", {"learning_rate": 0.5, "learnig_rate": 0.5})  # the second is a typo
    return Experiment(Draw(), [Train(), Report()], [treatment], replicates=3, seed=2, name="quickstart")


def _unread_warnings(**run) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _experiment().run(progress=False, **run)
    return [str(w.message) for w in caught if issubclass(w.category, CrystallizeWarning)
            and "which no step or data source read" in str(w.message)]


def test_an_unread_treatment_key_is_reported_with_the_store_and_a_cacheable_step(store_path):
    without_store = _unread_warnings(store=False)
    with_store = _unread_warnings(store=store_path)
    assert len(with_store) == 1 and with_store == without_store
    assert "sets 'learnig_rate', which" in with_store[0]
    assert "'learning_rate'," not in with_store[0]  # the key the cached step reads is not reported


def test_a_cache_hit_counts_the_keys_the_step_read(store_path):
    _unread_warnings(store=store_path)
    again = _unread_warnings(store=store_path)  # every cacheable step is a hit now
    assert len(again) == 1 and "'learnig_rate'" in again[0] and "'learning_rate'," not in again[0]
