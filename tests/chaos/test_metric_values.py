"""Metric values that JSON cannot keep as they are: converted or refused when the run is recorded,
so live, loaded and resumed results are equal; JSON exports are standard JSON (issue 12, point 8)."""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crystallize import Experiment, Result, data_source, pipeline_step

COMMAND = shutil.which("crystallize", path=str(Path(sys.executable).parent))


class Level(enum.IntEnum):
    HIGH = 3


@data_source
def one(ctx: Any) -> int:
    return 1


def _experiment(values: dict[str, Any], replicates: int = 2) -> Experiment:
    @pipeline_step
    def metrics(data: Any, ctx: Any) -> dict[Any, Any]:
        return dict(values)

    return Experiment(datasource=one(), pipeline=[metrics()], replicates=replicates, seed=5, name="values")


CONVERTED = {
    "decimal": (decimal.Decimal("1.25"), 1.25),
    "fraction": (fractions.Fraction(1, 4), 0.25),
    "float32": (np.float32(0.1), float(np.float32(0.1))),
    "int64": (np.int64(7), 7),
    "bool_": (np.bool_(True), True),
    "int_enum": (Level.HIGH, 3),
    "array": (np.arange(3), [0, 1, 2]),
    "tuple": ((1, np.float64(2.5)), [1, 2.5]),
    "nested": ({"a": (np.int8(1), decimal.Decimal("0.5"))}, {"a": [1, 0.5]}),
}


def test_values_with_one_plain_meaning_are_converted_so_live_loaded_and_resumed_agree(tmp_path: Path) -> None:
    experiment = _experiment({name: value for name, (value, _) in CONVERTED.items()})
    live = experiment.run(store=str(tmp_path), progress=False)
    assert not live.errors
    expected = {name: plain for name, (_, plain) in CONVERTED.items()}
    for record in live.records:
        assert record.metrics == expected
        for name, plain in expected.items():
            assert type(record.metrics[name]) is type(plain), name  # plain Python, not NumPy or Decimal
    loaded = Result.load(live.run_id or "", store=str(tmp_path))
    assert [r.metrics for r in loaded.records] == [r.metrics for r in live.records]
    assert loaded.metrics == live.metrics
    resumed = experiment.run(store=str(tmp_path), resume=True, progress=False)
    assert resumed.provenance["resumed_runs"] == len(live.records)
    assert resumed.metrics == live.metrics
    assert Result.from_json(live.to_json()).metrics == live.metrics


REFUSED = [
    ("complex", complex(1, 2), "(complex)"),
    ("when", datetime.datetime(2024, 1, 2), "(datetime)"),
    ("day", np.datetime64("2024-01-02"), "NumPy datetime64"),
    ("by_key", {1: 0.5}, "has the key 1 (int)"),
    ("labels", {"a", "b"}, "(set)"),
    ("raw", b"\x00", "(bytes)"),
    ("deep", {"a": [1.0, complex(0, 1)]}, "at ['a'][1]"),
]


@pytest.mark.parametrize(("metric", "value", "detail"), REFUSED, ids=[r[0] for r in REFUSED])
def test_values_without_a_plain_form_fail_the_run_naming_metric_and_type(
    tmp_path: Path, metric: str, value: Any, detail: str
) -> None:
    live = _experiment({"fine": 1.0, metric: value}, replicates=1).run(store=str(tmp_path), progress=False)
    error = live.errors["baseline/0"]
    assert error.type == "UnstorableMetricError" and error.step == "metrics"
    assert f"metric {metric!r}" in error.message and detail in error.message
    loaded = Result.load(live.run_id or "", store=str(tmp_path))
    assert loaded.errors["baseline/0"] == error
    assert loaded.metrics == live.metrics


def test_a_metric_name_that_is_not_a_string_fails_the_run(tmp_path: Path) -> None:
    live = _experiment({1: 0.5}, replicates=1).run(store=False, progress=False)
    error = live.errors["baseline/0"]
    assert error.type == "UnstorableMetricError" and "its name 1 (int) is not a string" in error.message


def _strict(text: str) -> Any:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_json_exports_write_standard_json_with_null_for_nan_and_infinities(tmp_path: Path) -> None:
    values = {"nan": float("nan"), "up": float("inf"), "down": np.float64("-inf"), "ok": 0.5}
    live = _experiment(values, replicates=1).run(store=str(tmp_path / "store"), progress=False)
    data = _strict(live.to_json())
    assert data["records"][0]["metrics"] == {"nan": None, "up": None, "down": None, "ok": 0.5}
    assert Result.from_json(live.to_json()).records[0].metrics["ok"] == 0.5
    if COMMAND is None:
        pytest.skip("the crystallize command is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    done = subprocess.run([str(COMMAND), "--store", str(tmp_path / "store"), "export", live.run_id or "", "--format",
                           "json"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {row["metric"]: row["value"] for row in _strict(done.stdout)}
    assert rows == {"nan": None, "up": None, "down": None, "ok": 0.5}
