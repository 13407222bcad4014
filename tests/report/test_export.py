"""Tidy exports: CSV, JSON and Parquet round-trip the samples."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from crystallize import Result
from crystallize.report.export import (
    MissingDependencyError,
    export_samples,
    export_verdicts,
    format_from_path,
    samples_bytes,
    verdicts_bytes,
)


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[frame["metric"] != "label"].reset_index(drop=True)
    return out.astype({"value": float})


def test_csv_round_trips(small_result: Result, tmp_path: Path) -> None:
    path = export_samples(small_result, "csv", tmp_path / "out" / "samples.csv")
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["condition", "replicate", "seed", "metric", "value", "status"]
    assert len(frame) == len(small_result.to_dataframe()) == 24 * 3
    pd.testing.assert_frame_equal(_numeric(frame), _numeric(small_result.to_dataframe()), check_dtype=False)


def test_json_is_an_array_of_rows(small_result: Result) -> None:
    rows = json.loads(samples_bytes(small_result, "json"))
    assert len(rows) == 72 and set(rows[0]) == {"condition", "replicate", "seed", "metric", "value", "status"}
    assert {r["condition"] for r in rows} == {"baseline", "shifted", "<b>flaky</b>"}
    first = small_result.to_dataframe().iloc[0]
    assert rows[0]["value"] == first["value"] and rows[0]["seed"] == first["seed"]


def test_parquet_keeps_numbers_numeric_and_text_in_its_own_column(small_result: Result) -> None:
    frame = pd.read_parquet(io.BytesIO(samples_bytes(small_result, "parquet")))
    assert list(frame.columns) == ["condition", "replicate", "seed", "metric", "value", "status", "value_text"]
    assert frame["value"].dtype == float
    pd.testing.assert_frame_equal(_numeric(frame.drop(columns="value_text")), _numeric(small_result.to_dataframe()))
    labels = frame[frame["metric"] == "label"]
    assert labels["value"].isna().all()
    assert set(labels.loc[labels["status"] == "ok", "value_text"]) <= {"ok", "low"}
    assert labels.loc[labels["status"] == "failed", "value_text"].isna().all()  # the failed run has no value
    assert frame.loc[frame["metric"] != "label", "value_text"].isna().all()


def test_parquet_without_pyarrow_names_the_extra(small_result: Result, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` raise ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'crystallize\[report\]'") as info:
        samples_bytes(small_result, "parquet")
    assert info.value.package == "pyarrow" and info.value.extra == "report"


def test_unknown_format_suggests_the_nearest(small_result: Result) -> None:
    with pytest.raises(ValueError, match="did you mean 'csv'"):
        samples_bytes(small_result, "cvs")


def test_failed_runs_are_rows_with_their_status_and_nan_values(small_result: Result) -> None:
    frame = small_result.to_dataframe()
    failed = frame[frame["status"] != "ok"]
    # replicate 2 of "<b>flaky</b>" raised: one row per metric, values NaN, status "failed"
    assert set(failed["condition"]) == {"<b>flaky</b>"} and set(failed["replicate"]) == {2}
    assert sorted(failed["metric"]) == sorted(small_result.metric_names) and failed["value"].isna().all()
    assert set(failed["status"]) == {"failed"}
    assert set(frame.loc[frame["status"] == "ok", "value"].map(type)) <= {float, str}
    assert (frame["status"] == "ok").sum() == 23 * 3


def test_verdicts_frame_has_one_row_per_verdict_with_its_numbers(small_result: Result) -> None:
    frame = small_result.verdicts_frame()
    verdicts = small_result.verdicts
    assert len(frame) == len(verdicts) == 4
    assert list(frame[["hypothesis", "treatment"]].itertuples(index=False, name=None)) == [
        (v.hypothesis, v.treatment) for v in verdicts]
    for row, v in zip(frame.to_dict(orient="records"), verdicts):
        assert row["metric"] == v.metric and row["test"] == v.test
        assert row["direction"] == v.direction or (v.direction is None and pd.isna(row["direction"]))
        assert row["difference"] == v.difference and (row["ci_low"], row["ci_high"]) == v.ci
        assert row["ci_level"] == v.ci_level and row["effect_size"] == v.effect_size
        assert row["p_value"] == v.p_value and row["p_value_adjusted"] == v.p_value_adjusted
        assert row["label"] == v.label and row["n_baseline"] == v.n_baseline
        assert row["n_treatment"] == v.n_treatment and row["failed_treatment"] == v.failed_treatment
        assert row["notes"] == "; ".join(v.notes)
    flaky = frame[frame["treatment"] == "<b>flaky</b>"]
    assert (flaky["failed_treatment"] == 1).all() and (flaky["n_treatment"] == 7).all()


def test_verdicts_export_round_trips_in_every_format(small_result: Result, tmp_path: Path) -> None:
    expected = small_result.verdicts_frame()
    csv = pd.read_csv(export_verdicts(small_result, "csv", tmp_path / "v.csv"), keep_default_na=False,
                      na_values=[""])
    rows = json.loads(verdicts_bytes(small_result, "json"))
    parquet = pd.read_parquet(io.BytesIO(verdicts_bytes(small_result, "parquet")))
    for table in (csv, pd.DataFrame(rows), parquet):
        assert list(table.columns) == list(expected.columns)
        pd.testing.assert_frame_equal(table[["p_value", "ci_low", "ci_level", "n_treatment"]],
                                      expected[["p_value", "ci_low", "ci_level", "n_treatment"]], check_dtype=False)
        assert list(table["label"]) == list(expected["label"])
        assert list(table["notes"].fillna("")) == list(expected["notes"])  # CSV reads an empty cell as missing


def test_verdicts_parquet_without_pyarrow_names_the_extra(small_result: Result,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'crystallize\[report\]'"):
        verdicts_bytes(small_result, "parquet")


def test_the_format_follows_the_option_then_the_suffix() -> None:
    assert format_from_path("v.parquet", None) == "parquet" and format_from_path("V.JSON", None) == "json"
    assert format_from_path("v.csv", "json") == "json" and format_from_path("v.txt", None) == "csv"
    assert format_from_path(None, None) == "csv"
