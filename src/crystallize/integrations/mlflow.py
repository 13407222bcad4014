"""Log an experiment run to MLflow: one MLflow run per crystallize run, verdicts at the end.

``pip install "crystallize[mlflow]"``, then::

    from crystallize.integrations.mlflow import MLflowListener

    result = experiment.run(callbacks=[MLflowListener(tracking_uri="sqlite:///mlflow.db")])

Under one MLflow experiment (default: the crystallize experiment's name) the
listener opens a parent run for the whole experiment run and, as each run
finishes, a child run with ``condition``, ``replicate``, ``seed`` and the
treatment's context keys as params, the run's numeric metrics, and its status
(``ok`` is FINISHED, ``failed`` FAILED, ``timeout`` KILLED; the crystallize
status and error are tags). At the end the parent run gets the verdicts
(``verdicts.json``, ``verdicts.csv``) and the HTML report (``report.html``) as
artifacts, each verdict's label as a tag and its p-values and estimate as
metrics. Runs loaded from the store on ``resume=True`` are not logged again.

An MLflow error (a tracking server that went away) never stops the experiment:
the listener warns, keeps going, and says at the end how many runs were not logged.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crystallize.core.exceptions import CrystallizeWarning
from crystallize.core.jsonable import standard_json
from crystallize.report import MissingDependencyError, write_report
from crystallize.stats.warnings import warn

if TYPE_CHECKING:
    from crystallize.core.plan import RunSpec
    from crystallize.core.record import RunRecord
    from crystallize.core.result import Result

__all__ = ["MLflowListener"]

#: MLflow's status for each crystallize run status.
RUN_STATUS = {"ok": "FINISHED", "failed": "FAILED", "timeout": "KILLED"}

_PARAM_CHARS = 500  # MLflow's historical limit on a param value
_UNSAFE = re.compile(r"[^\w\-. /]")  # MLflow keys: alphanumerics, _ - . space /


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:
        raise MissingDependencyError("mlflow", "mlflow", "MLflowListener") from exc
    return mlflow


def _key(*parts: str) -> str:
    """An MLflow-safe metric, param or tag key (other characters become ``_``)."""
    return _UNSAFE.sub("_", ".".join(parts))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    return float(value)


def _now_ms() -> int:
    return int(time.time() * 1000)


class MLflowListener:
    """An experiment listener (``experiment.run(callbacks=[...])``) that logs to MLflow.

    Args:
        experiment_name: the MLflow experiment; default: the crystallize experiment's name.
        tracking_uri: where MLflow stores runs (``"sqlite:///mlflow.db"``, a server URL);
            default: MLflow's own (``MLFLOW_TRACKING_URI``).
        artifact_location: where a newly created MLflow experiment keeps artifacts.
        report: attach the HTML report to the parent run.

    Attributes:
        experiment_id: the MLflow experiment's id (set when the run starts).
        parent_run_id: the MLflow run of the whole experiment run.
        run_ids: ``{"<condition>/<replicate>": MLflow run id}`` of every logged run.

    Raises:
        MissingDependencyError: MLflow is not installed (``pip install "crystallize[mlflow]"``).
    """

    def __init__(self, experiment_name: str | None = None, *, tracking_uri: str | None = None,
                 artifact_location: str | None = None, report: bool = True) -> None:
        mlflow = _import_mlflow()
        self._entities = mlflow.entities
        self.client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        self.experiment_name = experiment_name
        self.artifact_location = artifact_location
        self.report = report
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self.run_ids: dict[str, str] = {}
        self._not_logged = 0

    # -- events ---------------------------------------------------------------

    def on_experiment_start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        """Find or create the MLflow experiment and open the parent run."""
        name = self.experiment_name or experiment.name or "crystallize"
        found = self.client.get_experiment_by_name(name)
        self.experiment_id = (found.experiment_id if found is not None
                              else self.client.create_experiment(name, artifact_location=self.artifact_location))
        parent = self.client.create_run(self.experiment_id, run_name=f"{name} (experiment)", tags={
            "crystallize.kind": "experiment", "crystallize.fingerprint": experiment.fingerprint()})
        self.parent_run_id = parent.info.run_id
        params = {"replicates": experiment.replicates, "seed": experiment.seed,
                  "treatments": ", ".join(t.name for t in experiment.treatments),
                  "hypotheses": ", ".join(h.name for h in experiment.hypotheses),
                  "planned_runs": len(planned), "executed_runs": len(todo)}
        self._log(self.parent_run_id, params=params)

    def on_run_complete(self, record: RunRecord) -> None:
        """Log one finished run as a child of the parent run."""
        tags = {"mlflow.parentRunId": str(self.parent_run_id), "crystallize.kind": "run",
                "crystallize.status": record.status}
        if record.error is not None:
            tags["crystallize.error"] = f"{record.error.type}: {record.error.message}"[:5000]
            if record.error.step:
                tags["crystallize.step"] = record.error.step
        params = {"condition": record.condition, "replicate": record.replicate, "seed": record.seed,
                  **{_key("context", str(k)): v for k, v in record.params.items()}}
        metrics = {str(k): n for k, v in record.metrics.items() if (n := _number(v)) is not None}
        start = int(record.started * 1000) if record.started else _now_ms()
        try:
            run = self.client.create_run(str(self.experiment_id), start_time=start, tags=tags,
                                         run_name=f"{record.condition} #{record.replicate}")
            self._log(run.info.run_id, params=params, metrics=metrics, timestamp=start)
            self.client.set_terminated(run.info.run_id, status=RUN_STATUS.get(record.status, "FAILED"),
                                       end_time=start + int(record.duration * 1000))
        except Exception as exc:  # noqa: BLE001 - an MLflow or network error must not stop the experiment
            self._not_logged += 1
            if self._not_logged == 1:
                warn(f"MLflowListener: run {record.key} was not logged to MLflow ({type(exc).__name__}: {exc}); "
                     "the experiment goes on and the run is kept in crystallize's store", CrystallizeWarning)
            return
        self.run_ids[record.key] = run.info.run_id

    def on_experiment_end(self, result: Result) -> None:
        """Attach verdicts and report to the parent run, then close it."""
        parent = str(self.parent_run_id)
        verdicts = list(result.verdicts)
        metrics: dict[str, float] = {}
        tags = {"crystallize.run_id": str(result.run_id)}
        for v in verdicts:
            prefix = _key(v.hypothesis, v.treatment)
            tags[_key("verdict", prefix)] = v.label
            for name, value in (("p_value", v.p_value), ("p_value_adjusted", v.p_value_adjusted),
                                ("estimate", v.difference)):
                if value is not None and math.isfinite(value):
                    metrics[_key(prefix, name)] = float(value)
        self._log(parent, metrics=metrics, tags=tags)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "verdicts.json").write_text(standard_json([v.as_dict() for v in verdicts], indent=2))
            result.verdicts_frame().to_csv(folder / "verdicts.csv", index=False)
            if self.report:
                write_report(result, folder / "report.html")
            self.client.log_artifacts(parent, str(folder))
        self.client.set_terminated(parent, status="FINISHED")
        if self._not_logged:
            warn(f"MLflowListener: {self._not_logged} runs were not logged to MLflow (see the first warning); "
                 "they are in crystallize's store", CrystallizeWarning)

    def on_experiment_abort(self, exc: BaseException) -> None:
        """Close the parent run as KILLED (Ctrl-C) or FAILED, with the reason as a tag; the
        runs logged so far stay."""
        if self.parent_run_id is None:
            return
        reason = f"{type(exc).__name__}: {exc}"[:_PARAM_CHARS]
        self._log(self.parent_run_id, tags={"crystallize.error": reason})
        self.client.set_terminated(self.parent_run_id,
                                   status="KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")

    # -- helpers ----------------------------------------------------------------

    def _log(self, run_id: str, *, params: Mapping[str, Any] | None = None,
             metrics: Mapping[str, float] | None = None, tags: Mapping[str, str] | None = None,
             timestamp: int | None = None) -> None:
        entities = self._entities
        stamp = timestamp or _now_ms()
        self.client.log_batch(
            run_id,
            metrics=[entities.Metric(_key(k), v, stamp, 0) for k, v in (metrics or {}).items()],
            params=[entities.Param(_key(k), _param_text(v)) for k, v in (params or {}).items()],
            tags=[entities.RunTag(_key(k), str(v)) for k, v in (tags or {}).items()],
        )


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_PARAM_CHARS]

