"""Tidy exports: CSV, JSON and Parquet round-trip the samples."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from crystallize import Result
from crystallize.report.export import MissingDependencyError, export_samples, samples_bytes


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[frame["metric"] != "label"].reset_index(drop=True)
    return out.astype({"value": float})


def test_csv_round_trips(small_result: Result, tmp_path: Path) -> None:
    path = export_samples(small_result, "csv", tmp_path / "out" / "samples.csv")
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["condition", "replicate", "seed", "metric", "value"]
    assert len(frame) == len(small_result.to_dataframe()) == 23 * 3
    pd.testing.assert_frame_equal(_numeric(frame), _numeric(small_result.to_dataframe()), check_dtype=False)


def test_json_is_an_array_of_rows(small_result: Result) -> None:
    rows = json.loads(samples_bytes(small_result, "json"))
    assert len(rows) == 69 and set(rows[0]) == {"condition", "replicate", "seed", "metric", "value"}
    assert {r["condition"] for r in rows} == {"baseline", "shifted", "<b>flaky</b>"}
    first = small_result.to_dataframe().iloc[0]
    assert rows[0]["value"] == first["value"] and rows[0]["seed"] == first["seed"]


def test_parquet_keeps_numbers_numeric_and_text_in_its_own_column(small_result: Result) -> None:
    frame = pd.read_parquet(io.BytesIO(samples_bytes(small_result, "parquet")))
    assert list(frame.columns) == ["condition", "replicate", "seed", "metric", "value", "value_text"]
    assert frame["value"].dtype == float
    pd.testing.assert_frame_equal(_numeric(frame.drop(columns="value_text")), _numeric(small_result.to_dataframe()))
    labels = frame[frame["metric"] == "label"]
    assert labels["value"].isna().all() and set(labels["value_text"]) <= {"ok", "low"}
    assert frame.loc[frame["metric"] != "label", "value_text"].isna().all()


def test_parquet_without_pyarrow_names_the_extra(small_result: Result, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` raise ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'crystallize\[report\]'") as info:
        samples_bytes(small_result, "parquet")
    assert info.value.package == "pyarrow" and info.value.extra == "report"


def test_unknown_format_suggests_the_nearest(small_result: Result) -> None:
    with pytest.raises(ValueError, match="did you mean 'csv'"):
        samples_bytes(small_result, "cvs")
