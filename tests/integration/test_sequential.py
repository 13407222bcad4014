"""Sequential experiments end to end: rounds, stopping, resume after a kill, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from crystallize import Experiment, Hypothesis, Result, Treatment, data_source, pipeline_step
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.sequential import Sequential
from crystallize.core.stat_test import PairedTTest, SequentialTTest


@data_source
def draw(ctx, *, n=20):
    return ctx.rng.normal(0.0, 1.0, n)


@pipeline_step
def score(data, ctx, *, lift=0.0):
    # the treatment's own noise, seeded per replicate and condition: paired differences vary
    own = np.random.default_rng([ctx["seed"], len(ctx["condition"])]).normal(0.0, 0.5)
    return {"score": float(data.mean()) + lift + own}


def make(lift: float, max_replicates: int = 60, **kwargs) -> Experiment:
    return Experiment(draw(), [score()], [Treatment("t", {"lift": lift})],
                      hypotheses=[Hypothesis("score", SequentialTTest(), direction="increase", **kwargs)],
                      replicates=Sequential(max=max_replicates, batch=5, min=5), seed=11, name="seq")


def test_a_large_effect_stops_long_before_the_budget():
    result = make(1.5).run(store=False, progress=False)
    verdict = result.hypotheses[0]
    assert result.stop_reason == "decided" and result.stopped_at <= 15
    assert verdict.accepted and verdict.decided_at == result.stopped_at and verdict.sequential == "accepted"
    assert len(result.records) == 2 * result.stopped_at  # nothing ran past the decision
    assert [look["replicates"] for look in result.looks] == list(range(5, result.stopped_at + 1, 5))


def test_a_null_effect_runs_to_the_budget_and_says_inconclusive():
    result = make(0.0, max_replicates=30).run(store=False, progress=False)
    verdict = result.hypotheses[0]
    assert result.stop_reason == "max_replicates" and result.stopped_at == 30
    assert verdict.label == "inconclusive at max" and not verdict.accepted


def test_futility_stops_a_null_hypothesis_early():
    result = make(0.0, max_replicates=200, min_effect=1.0).run(store=False, progress=False)
    assert result.stop_reason == "futile" and result.stopped_at < 200
    assert result.hypotheses[0].label == "no effect >= min_effect"


def test_replicate_seeds_do_not_depend_on_when_it_looked():
    sequential = make(1.5).run(store=False, progress=False)
    fixed = Experiment(draw(), [score()], [Treatment("t", {"lift": 1.5})], hypotheses=[Hypothesis("score")],
                       replicates=sequential.stopped_at, seed=11, name="seq").run(store=False, progress=False)
    assert sequential.metrics["t"]["score"] == fixed.metrics["t"]["score"]


def test_a_fixed_n_test_is_refused_with_the_reason():
    with pytest.raises(ExperimentDefinitionError, match="SequentialTTest().*inflates false positives|inflates "
                                                         "false positives.*SequentialTTest()"):
        Experiment(draw(), [score()], [Treatment("t", {"lift": 1.0})], hypotheses=[Hypothesis("score", PairedTTest())],
                   replicates=Sequential(max=50))


def test_the_budget_is_not_part_of_the_fingerprint_but_the_rounds_are():
    a, b = make(1.0, max_replicates=50), make(1.0, max_replicates=80)
    assert a.fingerprint() == b.fingerprint()
    c = Experiment(draw(), [score()], [Treatment("t", {"lift": 1.0})],
                   hypotheses=[Hypothesis("score", SequentialTTest(), direction="increase")],
                   replicates=Sequential(max=50, batch=10), seed=11, name="seq")
    assert c.fingerprint() != a.fingerprint()


def test_raising_the_budget_on_resume_extends_a_run_that_spent_it(tmp_path):
    store = tmp_path / "store"
    first = make(0.4, max_replicates=10).run(store=store, progress=False)
    assert first.stop_reason == "max_replicates"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # growing a sequential design is not optional stopping
        more = make(0.4, max_replicates=200).run(store=store, resume=True, progress=False)
    assert more.run_id == first.run_id and more.stopped_at > 10
    assert more.provenance["resumed_runs"] == 20
    loaded = Result.load(more.run_id, store)
    assert loaded.stop_reason == more.stop_reason and loaded.stopped_at == more.stopped_at
    assert loaded.looks == more.looks


SCRIPT = textwrap.dedent('''
    import sys, time
    import numpy as np
    from crystallize import Experiment, Hypothesis, Treatment, data_source, pipeline_step
    from crystallize.core.sequential import Sequential
    from crystallize.core.stat_test import SequentialTTest

    @data_source
    def draw(ctx, *, n=20):
        return ctx.rng.normal(0.0, 1.0, n)

    @pipeline_step
    def score(data, ctx, *, lift=0.0):
        time.sleep(float(sys.argv[2]))
        own = np.random.default_rng([ctx["seed"], len(ctx["condition"])]).normal(0.0, 0.5)
        return {"score": float(data.mean()) + lift + own}

    experiment = Experiment(draw(), [score()], [Treatment("t", {"lift": 0.5})],
                            hypotheses=[Hypothesis("score", SequentialTTest(), direction="increase")],
                            replicates=Sequential(max=200, batch=5, min=5), seed=5, name="killed")
    result = experiment.run(store=sys.argv[1], resume=len(sys.argv) > 3, progress=False)
    print("RESULT", result.stop_reason, result.stopped_at, [v.label for v in result.hypotheses],
          [v.decided_at for v in result.hypotheses], result.hypotheses[0].p_value)
''')


def _recorded(store: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(store / "store.db") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_nine_mid_way_then_resume_reaches_the_same_result(tmp_path):
    script = tmp_path / "seq.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    whole = subprocess.run([sys.executable, str(script), str(tmp_path / "a"), "0"], capture_output=True, text=True,
                           env=env, timeout=300, check=True).stdout
    expected = whole.split("RESULT", 1)[1].strip()
    assert expected.split()[0] == "decided"
    victim = subprocess.Popen([sys.executable, str(script), str(tmp_path / "b"), "0.02"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _recorded(tmp_path / "b") < 12 and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.05)
    assert victim.poll() is None, "the run ended before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    again = subprocess.run([sys.executable, str(script), str(tmp_path / "b"), "0", "resume"], capture_output=True,
                           text=True, env=env, timeout=300, check=True).stdout
    assert again.split("RESULT", 1)[1].strip() == expected
