"""resume=True: recorded runs are loaded, failed runs retried, replicates extend,
and a changed definition is refused with a message naming every change."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from crystallize import Treatment
from crystallize.store import DefinitionChangedError
from crystallize.store import open as open_store

from .conftest import executions, make


class StopAfter:
    """A listener that interrupts the experiment run after ``n`` records, like Ctrl-C."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_run_complete(self, record):
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


def _same_samples(a, b):
    assert a.conditions == b.conditions
    for condition in a.conditions:
        assert a.metrics[condition] == b.metrics[condition]
    assert [(r.condition, r.replicate, r.seed) for r in a.records] == \
        [(r.condition, r.replicate, r.seed) for r in b.records]
    assert a.metrics["hypothesis"]["p_value"] == b.metrics["hypothesis"]["p_value"]


def test_resume_loads_recorded_runs_and_executes_only_the_rest(store_path, log_dir, tmp_path):
    partial = make(log_dir, replicates=5).run(store=store_path, progress=False, callbacks=[StopAfter(4)])
    assert partial.interrupted and len(partial.records) == 4
    assert open_store(store_path).experiment_runs()[0].status == "interrupted"
    before = executions(log_dir)
    resumed = make(log_dir, replicates=5).run(store=store_path, progress=False, resume=True)
    after = executions(log_dir)
    assert resumed.run_id == partial.run_id and not resumed.interrupted
    for key in before:  # recorded runs were loaded, not executed again
        assert after[key] == 1
    assert sum(after.values()) == 10
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    _same_samples(resumed, make(fresh_dir, replicates=5).run(store=False, progress=False))
    info = open_store(store_path).experiment_runs()[0]
    assert (info.status, info.runs_done, info.runs_failed) == ("completed", 10, 0)


def test_failed_runs_are_tried_again_on_resume(store_path, log_dir, tmp_path):
    marker = tmp_path / "fail"
    marker.touch()
    first = make(log_dir, replicates=3, fail_marker=str(marker)).run(store=store_path, progress=False)
    assert set(first.errors) == {"baseline/1", "shifted/1"}
    marker.unlink()
    before = executions(log_dir)
    resumed = make(log_dir, replicates=3, fail_marker=str(marker)).run(store=store_path, progress=False, resume=True)
    after = executions(log_dir)
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == \
        {("baseline", 1): 1, ("shifted", 1): 1}
    assert resumed.errors == {} and resumed.run_id == first.run_id
    conn = sqlite3.connect(store_path / "store.db")
    assert dict(conn.execute("SELECT condition || '/' || replicate, attempts FROM runs WHERE replicate = 1")) == \
        {"baseline/1": 2, "shifted/1": 2}


def test_more_replicates_extend_the_experiment_run(store_path, log_dir, tmp_path):
    first = make(log_dir, replicates=3).run(store=store_path, progress=False)
    extended = make(log_dir, replicates=5).run(store=store_path, progress=False, resume=True)
    counts = executions(log_dir)
    assert all(n == 1 for n in counts.values()) and len(counts) == 10  # only replicates 3 and 4 ran now
    assert extended.run_id == first.run_id
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    _same_samples(extended, make(fresh_dir, replicates=5).run(store=False, progress=False))
    info = open_store(store_path).experiment_runs()[0]
    assert (info.replicates, info.runs_done) == (5, 10)


def test_fewer_replicates_on_resume_use_only_the_planned_ones(store_path, log_dir):
    make(log_dir, replicates=4).run(store=store_path, progress=False)
    smaller = make(log_dir, replicates=2).run(store=store_path, progress=False, resume=True)
    assert len(smaller.records) == 4 and sum(executions(log_dir).values()) == 8
    assert len(open_store(store_path).load_result(smaller.run_id).records) == 4


def test_resume_with_nothing_to_resume_starts_fresh_and_says_so(store_path, log_dir, caplog):
    with caplog.at_level(logging.INFO, logger="crystallize"):
        result = make(log_dir).run(store=store_path, progress=False, resume=True)
    assert "no earlier run of experiment 'shift' to resume; starting a new experiment run" in caplog.text
    assert len(open_store(store_path).experiment_runs()) == 1 and result.run_id


def test_another_name_with_the_same_definition_is_not_resumed(store_path, log_dir):
    first = make(log_dir, name="a").run(store=store_path, progress=False)
    second = make(log_dir, name="b").run(store=store_path, progress=False, resume=True)
    assert second.run_id != first.run_id


def _changed(store_path, log_dir, **changes) -> str:
    with pytest.raises(DefinitionChangedError) as info:
        make(log_dir, **changes).run(store=store_path, progress=False, resume=True)
    return str(info.value)


def test_a_changed_definition_is_never_resumed_and_the_error_says_what_changed(store_path, log_dir, tmp_path):
    first = make(log_dir).run(store=store_path, progress=False)
    message = _changed(store_path, log_dir, seed=6)
    assert f"cannot resume experiment 'shift': its definition changed since experiment run {first.run_id}" in message
    assert "the seed changed: 5 -> 6" in message
    assert "run without resume=True to start a new experiment run" in message
    assert "the params of step 'Shift' (#0) changed (amount: 0.0 -> 1.5)" in _changed(store_path, log_dir, amount=1.5)
    assert "treatment 'shifted' sets other values (shift: 1.0 -> 2.0)" in _changed(store_path, log_dir, shift=2.0)
    message = _changed(store_path, log_dir, treatments=[Treatment("other", {"shift": 1.0})])
    assert "treatment 'other' was added" in message and "treatment 'shifted' was removed" in message
    message = _changed(store_path, log_dir, fail_marker=str(tmp_path / "m"))
    assert "the data source 'LoggedSource' has other params (fail_marker: \"\" -> " in message
    message = _changed(store_path, log_dir, seed=6, amount=2.0)
    assert "the seed changed" in message and "the params of step 'Shift'" in message
    assert len(open_store(store_path).experiment_runs()) == 1  # nothing was started


STEP_V1 = '''
from crystallize import PipelineStep

def helper(x):
    return x + 1

class Scale(PipelineStep):
    def __call__(self, data, ctx):
        return {"score": helper(data)}
'''


def test_a_change_in_a_steps_code_or_in_a_helper_it_calls_is_named(store_path, log_dir, load_module):
    from crystallize import Experiment

    from .conftest import LoggedSource

    def experiment(module):
        return Experiment(LoggedSource(str(log_dir)), [module.Scale()], replicates=2, seed=1, name="code")

    experiment(load_module(STEP_V1)).run(store=store_path, progress=False)
    edited_helper = STEP_V1.replace("return x + 1", "return x + 2")
    with pytest.raises(DefinitionChangedError, match=r"the code of step 'Scale' \(#0\) changed"):
        experiment(load_module(edited_helper)).run(store=store_path, progress=False, resume=True)
    edited_step = STEP_V1.replace('{"score": helper(data)}', '{"score": helper(data) * 2}')
    with pytest.raises(DefinitionChangedError, match=r"the code of step 'Scale' \(#0\) changed"):
        experiment(load_module(edited_step)).run(store=store_path, progress=False, resume=True)
    resumed = experiment(load_module(STEP_V1)).run(store=store_path, progress=False, resume=True)
    assert sum(executions(log_dir).values()) == 2 and not resumed.interrupted


def test_a_drawn_seed_adopts_the_seed_of_the_earlier_run_to_resume_it(store_path, log_dir, tmp_path):
    first = make(log_dir, replicates=4, seed=None)
    assert not first.seed_given
    partial = first.run(store=store_path, progress=False, callbacks=[StopAfter(5)])
    again = make(log_dir, replicates=4, seed=None)
    assert again.seed != first.seed
    resumed = again.run(store=store_path, progress=False, resume=True)
    assert again.seed == first.seed and resumed.run_id == partial.run_id
    assert sum(executions(log_dir).values()) == 8
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    _same_samples(resumed, make(fresh_dir, replicates=4, seed=first.seed).run(store=False, progress=False))


def test_a_drawn_seed_with_another_definition_reports_the_change_but_not_the_seed(store_path, log_dir):
    make(log_dir, seed=None).run(store=store_path, progress=False)
    message = _changed(store_path, log_dir, seed=None, amount=3.0)
    assert "the params of step 'Shift'" in message and "seed" not in message.split("\n", 1)[1]


def test_describe_changes_names_steps_data_sources_and_cacheability():
    from crystallize.store.resume import describe_changes

    old = {"seed": 1, "datasource": {"name": "A", "params": {}, "code": "c1"},
           "steps": [{"name": "s", "params": {"k": 1}, "code": "x", "cacheable": False}],
           "treatments": [{"name": "t", "code": "f1"}, {"name": "u", "values": {"a": 1}}]}
    new = {"seed": 1, "datasource": {"name": "A", "params": {}, "code": "c2"},
           "steps": [{"name": "s", "params": {"k": 1, "j": 2}, "code": "x", "cacheable": True}],
           "treatments": [{"name": "t", "code": "f2"}, {"name": "u", "values": {"a": 1}}]}
    assert describe_changes(old, new) == [
        "the code of the data source 'A' changed",
        "the params of step 's' (#0) changed (j added (2))",
        "step 's' (#0) was made cacheable",
        "treatment 't' changed (its function's code or its values)",
    ]
    renamed = {**new, "datasource": {"name": "B"}, "steps": [{"name": "s"}, {"name": "r"}],
               "treatments": list(reversed(old["treatments"]))}
    assert describe_changes(old, renamed) == [
        "the data source changed: 'A' -> 'B'",
        "the pipeline's steps changed: ['s'] -> ['s', 'r']",
        "the treatments' order changed: ['t', 'u'] -> ['u', 't']",
    ]


def test_a_changed_private_attribute_is_named_when_resume_is_refused(tmp_path):
    from crystallize import DataSource, Experiment, PipelineStep
    from crystallize.store import DefinitionChangedError

    class Source(DataSource):
        def __init__(self, scale):
            self._scale = scale

        def fetch(self, ctx):
            return self._scale

    class Step(PipelineStep):
        def __init__(self, offset):
            self._offset = offset

        def __call__(self, data, ctx):
            return {"x": float(data + self._offset)}

    Experiment(Source(1), [Step(0)], seed=1, name="private").run(store=tmp_path, progress=False)
    with pytest.raises(DefinitionChangedError) as info:
        Experiment(Source(2), [Step(5)], seed=1, name="private").run(store=tmp_path, progress=False, resume=True)
    message = str(info.value)
    assert "the private attributes of the data source 'Source' changed" in message
    assert "the private attributes of step 'Step' (#0) changed" in message


def _optional_stopping(run) -> list[str]:
    import warnings

    from crystallize.store import OptionalStoppingWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught if issubclass(w.category, OptionalStoppingWarning)]


def test_growing_a_run_whose_verdicts_were_computed_warns_of_optional_stopping(store_path, log_dir):
    from crystallize import CrystallizeWarning
    from crystallize.store import OptionalStoppingWarning

    assert issubclass(OptionalStoppingWarning, CrystallizeWarning)
    first = make(log_dir, replicates=3).run(store=store_path, progress=False)
    assert first.verdicts  # the verdicts were computed (and shown)
    said = _optional_stopping(lambda: make(log_dir, replicates=5).run(store=store_path, progress=False, resume=True))
    assert len(said) == 1
    assert f"experiment run {first.run_id} of 'shift' already had verdicts at 3 replicates" in said[0]
    assert "optional stopping" in said[0] and "16.5%" in said[0] and "Sequential(max=...)" in said[0]


def test_no_optional_stopping_warning_without_new_replicates_or_earlier_verdicts(store_path, log_dir):
    make(log_dir, replicates=3).run(store=store_path, progress=False)
    assert _optional_stopping(lambda: make(log_dir, replicates=3).run(store=store_path, progress=False,
                                                                      resume=True)) == []
    other = store_path.parent / "interrupted"
    make(log_dir, replicates=5, name="cut").run(store=other, progress=False, callbacks=[StopAfter(3)])
    # interrupted: verdicts were computed from its first 3 runs, but finishing the planned 5 grows nothing
    assert _optional_stopping(lambda: make(log_dir, replicates=5, name="cut").run(
        store=other, progress=False, resume=True)) == []
