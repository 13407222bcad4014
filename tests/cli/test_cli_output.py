"""What the installed command prints for people and for machines (issue 15, points 5 and 6):
progress lines in a batch job's log, library warnings as one line each, JSON with a versioned
schema, TSV, tables without box drawing in a pipe, the newest run by default, full compare keys."""

from __future__ import annotations

import json
import re
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from crystallize import DesignWarning, Result
from crystallize.cli.console import command_output
from crystallize.cli.machine import tsv

from .conftest import COMMAND, STEPS, VALID, crystallize, run_id_in

pytestmark = [pytest.mark.slow, pytest.mark.skipif(COMMAND is None, reason="the crystallize command is not installed")]


def test_run_without_a_terminal_logs_progress_lines(project: Callable[..., Path], monkeypatch) -> None:
    monkeypatch.setenv("CRYSTALLIZE_PROGRESS_INTERVAL", "0.01")
    path = project(VALID)
    done = crystallize("run", path.name, cwd=path.parent)  # stderr is a pipe: no bar, log lines
    lines = [line for line in done.stderr.splitlines() if " runs, " in line]
    assert lines, done.stderr
    stamp = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] "
    assert all(re.fullmatch(stamp + r"experiment 'shift-study': \d+/18 runs, 0 failed · elapsed \d:\d\d:\d\d"
                            r"( · left \d:\d\d:\d\d)?", line) for line in lines), lines
    assert re.fullmatch(stamp + r"experiment 'shift-study': 18/18 runs, 0 failed · elapsed \d:\d\d:\d\d", lines[-1])
    assert run_id_in(done.stdout)


def test_no_progress_hides_the_progress_lines(project: Callable[..., Path]) -> None:
    path = project(VALID)
    done = crystallize("run", path.name, "--no-progress", cwd=path.parent)
    assert " runs, " not in done.stderr


def test_library_warnings_are_one_line_each_without_a_stack_frame(project: Callable[..., Path]) -> None:
    path = project(VALID.replace("replicates: 6", "replicates: 2"))
    err = crystallize("run", path.name, "--no-progress", cwd=path.parent).stderr
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert any("hypothesis 'spread_any': permutation can never be significant with 2 replicates" in line
               for line in warnings), err
    assert "Warning:" not in err and ".py:" not in err and "warnings.warn" not in err


# -- JSON, TSV and tables for machines and pipes ------------------------------------------------

BOX = set("┏┃━┡│└─┩╇┳┓")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two stored runs of the same experiment with long names; B differs in seed, alpha and a treatment value."""
    folder = tmp_path_factory.mktemp("machine")
    (folder / "mysteps.py").write_text(STEPS)
    text = (VALID.replace("shifted:", "shifted_by_a_rather_long_treatment_name:")
            .replace("- metric: mean", "- metric: mean\n    name: mean_of_the_summarised_sample_improves"))
    (folder / "a.yaml").write_text(text)
    (folder / "b.yaml").write_text(text.replace("seed: 3", "seed: 4").replace("shift: 0.8", "shift: 0.6")
                                   .replace("alpha: 0.1", "alpha: 0.2"))
    first = run_id_in(crystallize("run", "a.yaml", "--no-progress", cwd=folder).stdout)
    second = run_id_in(crystallize("run", "b.yaml", "--no-progress", cwd=folder).stdout)
    return {"folder": folder, "a": first, "b": second}


def test_list_json_has_a_versioned_schema_newest_first(store: dict) -> None:
    folder = store["folder"]
    document = json.loads(crystallize("list", "--json", cwd=folder).stdout)
    assert document == json.loads(crystallize("list", "--format", "json", cwd=folder).stdout)
    assert document["schema_version"] == 1 and document["total"] == 2 and document["store"] == ".crystallize"
    newest, oldest = document["runs"]
    assert (newest["id"], oldest["id"]) == (store["b"], store["a"])
    assert set(newest) == {"id", "name", "status", "started", "finished", "seed", "replicates", "sequential", "runs_planned",
                           "runs_done", "runs_failed", "verdicts", "accepted", "conditions"}
    assert (newest["name"], newest["status"], newest["seed"], newest["runs_done"], newest["runs_planned"]) == \
        ("shift-study", "completed", 4, 18, 18)
    assert newest["started"].endswith("+00:00") and newest["verdicts"] == 4
    assert newest["conditions"] == ["baseline", "shifted_by_a_rather_long_treatment_name", "scaled"]


def test_list_piped_has_no_box_drawing_unless_asked_and_tsv_has_one_row_per_run(store: dict) -> None:
    folder = store["folder"]
    piped = crystallize("list", cwd=folder).stdout
    assert not BOX & set(piped) and store["a"] in piped and "completed" in piped
    assert all(line == line.rstrip() for line in piped.splitlines())  # no padding after the last column
    assert BOX & set(crystallize("list", "--format", "table", cwd=folder).stdout)
    header, *rows = crystallize("list", "-f", "tsv", cwd=folder).stdout.splitlines()
    assert header.split("\t")[:4] == ["id", "name", "status", "started"]
    assert [row.split("\t")[0] for row in rows] == [store["b"], store["a"]]
    err = crystallize("list", "--json", "--format", "tsv", cwd=folder, code=2).stderr
    assert err == "error: --json and --format tsv ask for two formats: give one\n"


def test_show_without_an_id_or_latest_shows_the_newest_run(store: dict) -> None:
    folder = store["folder"]
    newest = crystallize("show", store["b"], cwd=folder).stdout
    assert crystallize("show", cwd=folder).stdout == newest
    assert crystallize("show", "latest", cwd=folder).stdout == newest
    assert f"run id: {store['b']}" in newest and not BOX & set(newest)


def test_show_json_holds_the_samples_and_verdicts_of_the_stored_run(store: dict) -> None:
    folder = store["folder"]
    document = json.loads(crystallize("show", store["a"][:6], "--json", cwd=folder).stdout)
    result = _load(folder, store["a"])
    assert document["schema_version"] == 1 and document["run_id"] == store["a"] and document["status"] == "completed"
    assert (document["runs"], document["failed"], document["seed"], document["replicates"]) == (18, 0, 3, 6)
    assert len(document["samples"]) == 6 and len(document["verdicts"]) == len(result.hypotheses) == 4
    for row, verdict in zip(document["verdicts"], result.hypotheses):
        assert (row["hypothesis"], row["treatment"], row["label"]) == (verdict.hypothesis, verdict.treatment,
                                                                      verdict.label)
        assert row["p_value"] == verdict.p_value and row["p_value_adjusted"] == verdict.p_value_adjusted
        assert [row["ci_low"], row["ci_high"]] == (list(verdict.ci) if verdict.ci else [None, None])
    sample = next(s for s in document["samples"] if (s["condition"], s["metric"]) == ("scaled", "mean"))
    values = result.metrics["scaled"]["mean"]
    assert sample["n"] == 6 and sample["mean"] == pytest.approx(sum(values) / 6)
    header, *rows = crystallize("show", store["a"], "-f", "tsv", cwd=folder).stdout.splitlines()
    assert header.startswith("hypothesis\tmetric\ttreatment\ttest") and len(rows) == 4


def _load(folder: Path, run_id: str) -> Result:
    from crystallize.store import open as open_store  # noqa: PLC0415

    opened = open_store(folder / ".crystallize")
    try:
        return opened.load_result(run_id)
    finally:
        opened.close()


def test_compare_shows_full_dotted_keys_at_80_columns(store: dict, monkeypatch) -> None:
    folder = store["folder"]
    document = json.loads(crystallize("compare", store["a"], store["b"], "--json", cwd=folder).stdout)
    assert document["schema_version"] == 1 and document["a"]["run_id"] == store["a"]
    keys = [d["key"] for d in document["differences"]]
    long_key = "definition.treatments.shifted_by_a_rather_long_treatment_name.values.shift"
    assert long_key in keys and "definition.hypotheses.spread_any.alpha" in keys and "master_seed" in keys
    assert {m["metric"] for m in document["metrics"]} == {"mean", "spread"}
    assert {v["hypothesis"] for v in document["verdicts"]} == {"mean_of_the_summarised_sample_improves",
                                                               "spread_any"}
    for width in ("80", "120"):
        monkeypatch.setenv("COLUMNS", width)
        done = subprocess.run([str(COMMAND), "compare", store["a"], store["b"]], cwd=folder, capture_output=True,
                              text=True, timeout=300, check=True)
        lines = done.stdout.splitlines()
        assert max(map(len, lines)) <= int(width)
        for key in keys:  # every key whole on a line: never cut with "…", never split
            assert any(key in line for line in lines), (width, key)
        assert "…" not in done.stdout
    rows = crystallize("compare", store["a"], store["b"], "-f", "tsv", cwd=folder).stdout.splitlines()
    assert rows[0] == "section\tkey\ta\tb" and f"definition\t{long_key}\t0.8\t0.6" in rows
    assert "seeds\tmaster_seed\t3\t4" in rows


def test_a_warning_is_one_line_with_control_characters_escaped(capsys) -> None:
    with command_output():
        warnings.warn("hypothesis 'acc\x1b[31m' has few samples", DesignWarning, stacklevel=1)
    assert capsys.readouterr().err == "warning: hypothesis 'acc\\x1b[31m' has few samples\n"


def test_a_tsv_field_never_holds_a_tab_line_break_or_escape_sequence() -> None:
    text = tsv(["name", "value"], [["a\tb\nc\x1b[31m", None], ["plain", 1.5]])
    assert text.splitlines() == ["name\tvalue", "a\\tb\\nc\\x1b[31m\t", "plain\t1.5"]
