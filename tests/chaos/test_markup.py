"""Hostile names: Rich markup and terminal escapes in user strings are shown as text, never
interpreted (issue 12, point 22)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.execution.progress import ProgressBar

COMMAND = shutil.which("crystallize", path=str(Path(sys.executable).parent))

CLEAR = "\x1b[2J"  # clears the screen
TITLE = "\x1b]0;owned\x07"  # sets the terminal's title
BLINK = "\x1b[5m"
RAW = (CLEAR, TITLE, BLINK, "\u202e")

# the escapes are written as escapes in the module's source, so the names hold the raw characters
HOSTILE = r'''
from crystallize import Experiment, Hypothesis, Treatment, data_source, pipeline_step


@data_source
def source(ctx):
    return 1


@pipeline_step
def measure(data, ctx):
    if ctx.get("explode", False) and ctx.get("replicate") == 0:
        raise ValueError("bad [/b] value \x1b[5m[/i]")
    return {"m[/u]": float(ctx.get("replicate")) + ctx.get("lr", 0.0)}


def make():
    return Experiment(
        datasource=source(), pipeline=[measure()],
        treatments=[Treatment("lr[/b]", {"lr": 1.0}), Treatment("t\x1b]0;owned\x07\u202eevil", {"lr": 2.0}),
                    Treatment("boom[bold", {"explode": True})],
        hypotheses=[Hypothesis(metric="m[/u]", name="h[/i]\x1b[2J")],
        replicates=3, seed=1, name="exp[/b]\x1b[2J",
    )
'''


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "hostile.py").write_text(HOSTILE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("hostile", None)
    return tmp_path


def _no_raw_sequences(text: str) -> None:
    for raw in RAW:
        assert raw not in text, f"{raw!r} reached the output"


def _run_quietly(experiment):  # noqa: ANN001, ANN202
    with pytest.warns(Warning):  # degenerate data and failure imbalance warnings: not the point here
        return experiment.run(store=False, progress=False)


@pytest.mark.parametrize("color", [False, True])
def test_printing_a_result_shows_markup_and_escapes_as_text(hostile: Path, color: bool) -> None:
    import hostile as module  # noqa: PLC0415

    result = _run_quietly(module.make())
    from crystallize.core.summary import summary_text  # noqa: PLC0415

    text = summary_text(result, color=color, width=200)
    _no_raw_sequences(text)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Rich's own colours, when on
    assert "exp[/b]\\x1b[2J" in plain and "lr[/b]" in plain and "m[/u]" in plain and "h[/i]\\x1b[2J" in plain
    assert "t\\x1b]0;owned\\x07\\u202eevil" in plain and "boom[bold" in plain
    assert "bad [/b] value \\x1b[5m[/i]" in plain
    assert str(result)  # print(result) goes through the same path


def _cli(*args: str, cwd: Path, code: int = 0) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    env["COLUMNS"] = "250"
    done = subprocess.run([str(COMMAND), "--store", str(cwd / "store"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "MarkupError" not in done.stderr and "Traceback" not in done.stderr
    _no_raw_sequences(done.stdout + done.stderr)
    return done.stdout


@pytest.mark.skipif(COMMAND is None, reason="the crystallize command is not installed")
def test_the_command_shows_hostile_names_as_text(hostile: Path) -> None:
    out = _cli("run", "hostile:make", "--no-progress", cwd=hostile)
    assert "lr[/b]" in out and "exp[/b]\\x1b[2J" in out and "bad [/b] value" in out
    run_id = re.search(r"^run id: (\S+)$", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    shown = _cli("show", run_id, "--tracebacks", cwd=hostile)
    assert "lr[/b]" in shown and "t\\x1b]0;owned\\x07\\u202eevil" in shown and "bad [/b] value" in shown
    listed = _cli("list", cwd=hostile)
    assert "exp[/b]\\x1b[2J" in listed
    compared = _cli("compare", run_id, run_id, cwd=hostile)
    assert "lr[/b]" in compared and "h[/i]\\x1b[2J" in compared


def test_the_progress_bar_shows_a_hostile_name_as_text() -> None:
    class Named:
        name = f"exp[/b]{CLEAR}"

    buffer = io.StringIO()
    bar = ProgressBar(Console(file=buffer, force_terminal=True, width=120))
    planned = [RunSpec("baseline", 0, 1)]
    bar.on_experiment_start(Named(), planned, planned)
    assert bar.showing  # the bar started: its label did not break it
    bar.on_run_complete(RunRecord("baseline", 0, 1, "ok", {"m": 1.0}))
    bar.close()
    out = buffer.getvalue()
    _no_raw_sequences(out)
    assert "exp[/b]\\x1b[2J" in out
