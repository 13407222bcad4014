"""What the installed command prints for people and for machines (issue 15, points 5 and 6):
progress lines in a batch job's log, library warnings as one line each."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import COMMAND, VALID, crystallize, run_id_in

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
