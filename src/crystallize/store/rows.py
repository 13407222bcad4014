"""Run records and verdicts as table rows, and back.

Each piece of a record goes into its own JSON column with plain
``json.dumps`` (NumPy scalars and arrays become numbers and lists), so
storing a run costs a few microseconds and the rows stay readable with any
SQLite client.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from crystallize.core.jsonable import to_jsonable
from crystallize.core.pipeline import StepRecord
from crystallize.core.record import RunError, RunRecord
from crystallize.core.verdict import Verdict
from crystallize.store.errors import StoreDamagedError

__all__ = ["RUN_COLUMNS", "UPSERT_RUN", "dumps", "loads_cell", "record_from_row", "run_row", "verdict_row"]

RUN_COLUMNS = ("condition, replicate, seed, status, metrics, params, error, duration, started, host, steps, "
               "artifacts, attempts")

#: Insert one run; a run tried again (resume) replaces the earlier attempt and counts it.
UPSERT_RUN = (
    "INSERT INTO runs (experiment_run_id, condition, replicate, seed, status, metrics, params, error, duration, "
    "started, host, steps, artifacts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (experiment_run_id, condition, replicate) DO UPDATE SET seed = excluded.seed, "
    "status = excluded.status, metrics = excluded.metrics, params = excluded.params, error = excluded.error, "
    "duration = excluded.duration, started = excluded.started, host = excluded.host, steps = excluded.steps, "
    "artifacts = excluded.artifacts, attempts = runs.attempts + 1"
)

_EMPTY = "{}"


def dumps(value: Any) -> str:
    """Compact JSON; NumPy values as plain numbers and lists, anything else by ``repr``."""
    return json.dumps(value, default=to_jsonable, separators=(",", ":"))


def _step(step: Any) -> Any:
    as_dict = getattr(step, "as_dict", None)
    return as_dict() if as_dict is not None else step


def _step_record(data: Any) -> Any:
    try:
        data["name"] = sys.intern(data["name"])  # one copy of each name and hash for every loaded record
        data["step_hash"] = sys.intern(data["step_hash"])
        return StepRecord(**data)
    except (TypeError, KeyError):  # written by another version: keep the mapping
        return data


def _interned(mapping: Any) -> Any:
    """``mapping`` with its keys interned: a store of many runs repeats the same few names."""
    return {sys.intern(k): v for k, v in mapping.items()} if type(mapping) is dict else mapping


def run_row(run_id: str, record: RunRecord) -> tuple[Any, ...]:
    """The ``runs`` row of ``record`` (parameters for :data:`UPSERT_RUN`)."""
    error = record.error
    return (
        run_id, record.condition, record.replicate, record.seed, record.status,
        dumps(record.metrics) if record.metrics else _EMPTY,
        dumps(record.params) if record.params else _EMPTY,
        dumps(error.as_dict()) if error is not None else None,
        record.duration, record.started, record.host,
        dumps([_step(s) for s in record.steps]) if record.steps else "[]",
        dumps(list(record.artifacts)) if record.artifacts else None,
    )


def loads_cell(text: Any, source: str, where: str, column: str) -> Any:
    """``json.loads(text)``, or a :class:`StoreDamagedError` naming the cell.

    Args:
        text: the cell's content.
        source: the store's database file.
        where: the row, e.g. ``"experiment run 3f2a..., run baseline/3"``.
        column: the column's name.
    """
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        shown = repr(text) if len(repr(text)) <= 60 else repr(text)[:57] + "..."
        raise StoreDamagedError(source, f"{where}: its {column} cell is not valid JSON ({exc}; it holds {shown}); "
                                        "fix or delete that row with any SQLite client") from None


def record_from_row(row: Sequence[Any], source: str = "", experiment_run: str = "") -> RunRecord:
    """Rebuild a :class:`RunRecord` from a row selected with :data:`RUN_COLUMNS`.

    Args:
        row: the row.
        source: the store's database file, for messages.
        experiment_run: the experiment run's id, for messages.

    Raises:
        StoreDamagedError: a cell holds no valid JSON (names the run and the store).
    """
    (condition, replicate, seed, status, metrics, params, error, duration, started, host, steps,
     artifacts, _attempts) = row
    where = f"experiment run {experiment_run}, run {condition}/{replicate}"
    try:
        return RunRecord(
            sys.intern(condition), int(replicate), int(seed), status,
            _interned(loads_cell(metrics, source, where, "metrics")),
            RunError(**loads_cell(error, source, where, "error")) if error else None, float(duration),
            float(started), sys.intern(host), _interned(loads_cell(params, source, where, "params")),
            tuple(_step_record(s) for s in loads_cell(steps, source, where, "steps")),
            tuple(loads_cell(artifacts, source, where, "artifacts")) if artifacts else (),
        )
    except StoreDamagedError:
        raise
    except (TypeError, ValueError) as exc:
        raise StoreDamagedError(source, f"{where}: a cell holds an unexpected value ({exc}); fix or delete that "
                                        "row with any SQLite client") from None


def verdict_row(run_id: str, position: int, verdict: Verdict) -> tuple[Any, ...]:
    """The ``verdicts`` row of ``verdict``."""
    return (run_id, position, verdict.hypothesis, verdict.treatment, verdict.metric, verdict.p_value,
            verdict.p_value_adjusted, int(verdict.significant), int(verdict.accepted), dumps(verdict.as_dict()))
