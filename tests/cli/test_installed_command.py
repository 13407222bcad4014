"""The installed ``crystallize`` command, end to end on the YAML quickstart, in a temp folder."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from .conftest import COMMAND, crystallize
from .conftest import run_id_in as _run_id

pytestmark = [pytest.mark.slow, pytest.mark.skipif(COMMAND is None, reason="the crystallize command is not installed")]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two stored runs of the example: as written, and with another seed and fewer replicates."""
    folder = tmp_path_factory.mktemp("cli") / "yaml_quickstart"
    example = Path(__file__).resolve().parents[2] / "examples" / "yaml_quickstart"
    shutil.copytree(example, folder, ignore=shutil.ignore_patterns("__pycache__", ".crystallize"))
    first = crystallize("run", "experiment.yaml", "--no-progress", cwd=folder)
    second = crystallize("run", "experiment.yaml", "--seed", "8", "--replicates", "4", "--no-progress", cwd=folder)
    return {"folder": folder, "first": first, "second": second,
            "id1": _run_id(first.stdout), "id2": _run_id(second.stdout)}


def test_run_prints_the_summary_and_the_run_id(session: dict) -> None:
    out = session["first"].stdout
    assert "Experiment digits-knn" in out and "30 runs, 0 failed" in out and "seed 7" in out
    assert "Verdicts" in out and "accuracy_drop" in out and "f1_no_worse" in out and "accepted" in out
    assert "replicates 4" in session["second"].stdout and "seed 8" in session["second"].stdout
    assert session["id1"] != session["id2"]
    assert (session["folder"] / ".crystallize").is_dir()


def test_list_shows_runs_newest_first(session: dict) -> None:
    out = crystallize("list", cwd=session["folder"]).stdout
    first, second = out.find(session["id1"][:12]), out.find(session["id2"][:12])
    assert 0 <= second < first  # newest first
    assert out.count("digits-knn") == 2 and "completed" in out


def test_show_by_prefix_prints_the_same_summary(session: dict) -> None:
    out = crystallize("show", session["id1"][:8], cwd=session["folder"]).stdout
    assert _run_id(out) == session["id1"]
    ran = session["first"].stdout
    assert out[: out.index("run id:")].strip() == ran[: ran.index("run id:")].strip()


def test_report_writes_a_self_contained_page(session: dict) -> None:
    out = crystallize("report", session["id1"][:8], "-o", "out/report.html", cwd=session["folder"]).stdout
    page = (session["folder"] / "out" / "report.html").read_text()
    assert "wrote out/report.html" in out
    assert "digits-knn" in page and 'class="verdicts stack"' in page and page.count('<svg') == 6
    assert session["id1"] in page and "<script" not in page


def test_export_csv_json_parquet_hold_the_same_table(session: dict) -> None:
    folder = session["folder"]
    csv = pd.read_csv(io.StringIO(crystallize("export", session["id1"][:8], cwd=folder).stdout))
    crystallize("export", session["id1"][:8], "--format", "json", "-o", "s.json", cwd=folder)
    out = crystallize("export", session["id1"][:8], "--format", "parquet", "-o", "s.parquet", cwd=folder).stdout
    assert "wrote s.parquet (60 rows)" in out
    from_json = pd.DataFrame(json.loads((folder / "s.json").read_text()))
    parquet = pd.read_parquet(folder / "s.parquet")
    assert len(csv) == 3 * 10 * 2
    assert list(csv.columns) == ["condition", "replicate", "seed", "metric", "value", "status"]
    assert set(csv["status"]) == {"ok"}
    for other in (from_json, parquet):
        pd.testing.assert_frame_equal(csv, other.astype(csv.dtypes.to_dict()), check_exact=False, rtol=1e-12)


def test_export_verdicts_by_suffix_holds_the_verdicts_table(session: dict) -> None:
    from crystallize import Result

    folder = session["folder"]
    result = Result.load(session["id1"], folder / ".crystallize")
    expected = result.verdicts_frame()
    out = crystallize("export", session["id1"][:8], "--verdicts", "-o", "v.parquet", cwd=folder).stdout
    assert f"wrote v.parquet ({len(result.verdicts)} verdicts)" in out
    crystallize("export", session["id1"][:8], "--verdicts", "-o", "v.json", cwd=folder)
    crystallize("export", session["id1"][:8], "--verdicts", "-o", "v.csv", cwd=folder)
    piped = crystallize("export", session["id1"][:8], "--verdicts", "-f", "json", cwd=folder).stdout
    tables = {
        "parquet": pd.read_parquet(folder / "v.parquet"),
        "json": pd.DataFrame(json.loads((folder / "v.json").read_text())),
        "csv": pd.read_csv(folder / "v.csv", keep_default_na=False, na_values=[""]),
        "stdout": pd.DataFrame(json.loads(piped)),
    }
    assert len(expected) == len(result.verdicts) >= 2
    for name, table in tables.items():
        assert list(table.columns) == list(expected.columns), name
        assert list(table["label"]) == [v.label for v in result.verdicts], name
        assert list(table["p_value"]) == pytest.approx([v.p_value for v in result.verdicts], rel=1e-12), name
        assert list(table["ci_level"]) == pytest.approx([v.ci_level for v in result.verdicts]), name
        assert list(table["n_treatment"]) == [v.n_treatment for v in result.verdicts], name


def test_compare_names_what_differs_and_how_metrics_moved(session: dict) -> None:
    out = crystallize("compare", session["id1"][:8], session["id2"][:8], cwd=session["folder"]).stdout
    assert "What differs" in out and "master_seed" in out and "replicates" in out
    assert "How the metrics moved" in out
    assert re.search(r"noisy_labels\s+│\s+accuracy", out) or "noisy_labels" in out


def test_cache_info_and_clear(session: dict) -> None:
    out = crystallize("cache", "info", cwd=session["folder"]).stdout
    entries = int(re.search(r"(\d+) entries", out).group(1))
    assert entries >= 10  # the cacheable step's output per replicate (shared by baseline and k15)
    assert "removed" in crystallize("cache", "clear", cwd=session["folder"]).stdout
    assert " 0 entries" in crystallize("cache", "info", cwd=session["folder"]).stdout


def test_bad_yaml_exits_2_naming_the_line(session: dict) -> None:
    folder = session["folder"]
    text = (folder / "experiment.yaml").read_text().replace("replicates: 10", "replicate: 10")
    (folder / "bad.yaml").write_text(text)
    line = text.splitlines().index("replicate: 10") + 1
    err = crystallize("run", "bad.yaml", cwd=folder, code=2).stderr
    assert err.count("\n") == 1 and f"bad.yaml, line {line}: replicate:" in err and "did you mean 'replicates'" in err


def test_unknown_run_id_exits_2(session: dict) -> None:
    for command in (["show", "zzzz"], ["report", "zzzz"], ["compare", session["id1"], "zzzz"]):
        err = crystallize(*command, cwd=session["folder"], code=2).stderr
        assert err.startswith("error: ") and err.count("\n") == 1 and "zzzz" in err


def test_a_failing_experiment_exits_1(session: dict) -> None:
    folder = session["folder"]
    text = (folder / "experiment.yaml").read_text().replace("metric: macro_f1", "metric: recall")
    (folder / "missing_metric.yaml").write_text(text.replace("replicates: 10", "replicates: 2"))
    err = crystallize("run", "missing_metric.yaml", "--no-progress", cwd=folder, code=1).stderr
    assert err.startswith("error: metric 'recall' not found") and err.count("\n") == 1
