"""MLflowListener against a real SQLite MLflow store, read back with mlflow.search_runs."""

from __future__ import annotations

import json
import sys
import warnings

import pandas as pd
import pytest

from crystallize import Experiment, Hypothesis, PairedTTest, Pipeline, Treatment, data_source, pipeline_step
from crystallize.core.exceptions import CrystallizeWarning

mlflow = pytest.importorskip("mlflow")

from crystallize.integrations.mlflow import MLflowListener  # noqa: E402


@data_source
def scores(ctx, *, shift=0.0):
    return float(ctx.rng.normal(0.80, 0.01)) * (1 + shift)


@pipeline_step
def evaluate(data, ctx, *, broken=False):
    if broken and ctx["replicate"] == 1:
        raise RuntimeError("diverged at epoch 3")
    return {"accuracy": data, "note": "text metrics are not logged"}


def _experiment() -> Experiment:
    return Experiment(datasource=scores(), pipeline=Pipeline([evaluate()]),
                      treatments=[Treatment("new model", {"shift": 0.05}),
                                  Treatment("flaky", {"shift": 0.01, "broken": True})],
                      hypotheses=[Hypothesis("accuracy", PairedTTest(), direction="increase")],
                      replicates=4, seed=11, name="mlflow-demo")


def _uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def _listener(tmp_path, **kwargs) -> MLflowListener:
    return MLflowListener(tracking_uri=_uri(tmp_path),
                          artifact_location=str(tmp_path / "artifacts"), **kwargs)


def _run(listener, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _experiment().run(store=str(tmp_path / "store"), progress=False, callbacks=[listener])


def test_every_run_and_the_verdicts_are_read_back(tmp_path, monkeypatch):
    listener = _listener(tmp_path)
    result = _run(listener, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", _uri(tmp_path))
    runs = mlflow.search_runs(experiment_ids=[listener.experiment_id],
                              filter_string="tags.`crystallize.kind` = 'run'")
    assert len(runs) == len(result.records) == 12
    for record in result.records:
        row = runs[(runs["params.condition"] == record.condition)
                   & (runs["params.replicate"] == str(record.replicate))].iloc[0]
        assert row["params.seed"] == str(record.seed)
        assert row["tags.crystallize.status"] == record.status
        assert row["tags.mlflow.parentRunId"] == listener.parent_run_id
        if record.ok:
            assert row["status"] == "FINISHED" and row["metrics.accuracy"] == record.metrics["accuracy"]
        else:
            assert row["status"] == "FAILED" and pd.isna(row["metrics.accuracy"])
            assert row["tags.crystallize.error"] == "RuntimeError: diverged at epoch 3"
    assert "metrics.note" not in runs.columns
    assert set(runs["params.context.shift"].dropna()) == {"0.05", "0.01"}
    assert (runs["status"] == "FAILED").sum() == 1

    parent = mlflow.get_run(listener.parent_run_id)
    assert parent.info.status == "FINISHED" and parent.data.tags["crystallize.run_id"] == result.run_id
    assert parent.data.params["executed_runs"] == "12"
    verdict = result.verdicts[0]
    assert parent.data.tags["verdict.accuracy.new model"] == verdict.label
    assert parent.data.metrics["accuracy.new model.p_value"] == pytest.approx(verdict.p_value)
    artifacts = {a.path for a in listener.client.list_artifacts(listener.parent_run_id)}
    assert artifacts == {"verdicts.json", "verdicts.csv", "report.html"}
    mlflow.artifacts.download_artifacts(run_id=listener.parent_run_id, dst_path=str(tmp_path / "dl"))
    stored = json.loads((tmp_path / "dl" / "verdicts.json").read_text())
    assert [(v["treatment"], v["verdict"], v["p_value"]) for v in stored] == \
        [(v.treatment, v.label, v.p_value) for v in result.verdicts]
    table = pd.read_csv(tmp_path / "dl" / "verdicts.csv")
    assert list(table["treatment"]) == ["new model", "flaky"]
    assert table["ci_low"].iloc[0] == pytest.approx(verdict.ci[0])
    assert "<html" in (tmp_path / "dl" / "report.html").read_text()[:200].lower()


def test_a_second_run_goes_under_the_same_mlflow_experiment(tmp_path):
    first, second = _listener(tmp_path), _listener(tmp_path, report=False)
    _run(first, tmp_path)
    _run(second, tmp_path / "again")
    assert first.experiment_id == second.experiment_id
    assert first.parent_run_id != second.parent_run_id
    names = {a.path for a in second.client.list_artifacts(second.parent_run_id)}
    assert names == {"verdicts.json", "verdicts.csv"}


def test_an_mlflow_error_warns_and_the_experiment_goes_on(tmp_path, monkeypatch):
    listener = _listener(tmp_path)
    create_run = listener.client.create_run

    def refuse_one(experiment_id, **kwargs):  # the tracking server fails once, mid-experiment
        if kwargs.get("run_name") == "flaky #2":
            raise mlflow.exceptions.MlflowException("tracking server unavailable")
        return create_run(experiment_id, **kwargs)

    monkeypatch.setattr(listener.client, "create_run", refuse_one)
    with pytest.warns(CrystallizeWarning) as caught:
        result = _experiment().run(store=str(tmp_path / "store"), progress=False, callbacks=[listener])
    messages = [str(w.message) for w in caught if issubclass(w.category, CrystallizeWarning)
                and "MLflowListener" in str(w.message)]
    assert messages[0].startswith("MLflowListener: run flaky/2 was not logged to MLflow (MlflowException: ")
    assert messages[-1].startswith("MLflowListener: 1 runs were not logged to MLflow")
    assert len(result.records) == 12 and len(listener.run_ids) == 11


def test_without_mlflow_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    with pytest.raises(ImportError, match=r"MLflowListener needs mlflow, which is not installed; "
                                          r"install it with: pip install 'crystallize\[mlflow\]'"):
        MLflowListener()


class _StopAfter:
    """A guard that stops the experiment with an error after ``n`` runs."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def on_run_complete(self, record) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise RuntimeError("budget exhausted")


def test_an_aborted_experiment_closes_its_parent_run_as_failed(tmp_path):
    listener = _listener(tmp_path)
    with pytest.raises(RuntimeError, match="budget exhausted"):
        _experiment().run(store=str(tmp_path / "store"), progress=False, callbacks=[listener, _StopAfter(3)])
    parent = listener.client.get_run(listener.parent_run_id)
    assert parent.info.status == "FAILED"
    assert parent.data.tags["crystallize.error"] == "RuntimeError: budget exhausted"
    runs = listener.client.search_runs([listener.experiment_id])
    assert sum(r.data.tags.get("crystallize.kind") == "run" for r in runs) == 3  # the runs logged so far stay
