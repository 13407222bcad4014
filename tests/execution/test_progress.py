from __future__ import annotations

import io

import pytest
from rich.console import Console

from crystallize import RunFailedError
from crystallize.execution import make_progress
from crystallize.execution.progress import NullProgress, ProgressBar

from .experiments import Stopper, make


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120, color_system=None), out


def test_progress_false_or_no_terminal_shows_nothing():
    assert isinstance(make_progress(False), NullProgress)
    assert isinstance(make_progress(None), NullProgress)  # pytest captures stderr: not a terminal
    assert isinstance(make_progress(True), ProgressBar)


def test_a_terminal_gets_a_bar_by_default(monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert isinstance(make_progress(None), ProgressBar)


def test_the_bar_counts_runs_and_failures():
    console, out = terminal()
    bar = ProgressBar(console)
    make(replicates=3, fail_at=(0, 2)).run(store=False, progress=False, callbacks=[bar])
    text = out.getvalue()
    assert "experiment" in text and "12/12" in text and "2 failed" in text
    assert (bar.done, bar.failed) == (12, 2)
    assert not bar.showing


def test_the_bar_is_closed_when_the_run_raises():
    console, _ = terminal()
    bar = ProgressBar(console)
    with pytest.raises(RunFailedError):
        make(replicates=3, fail_at=(1,)).run(store=False, progress=False, fail_fast=True, callbacks=[bar])
    assert not bar.showing
    assert not console._live_stack  # noqa: SLF001 - no live display left on the console


def test_the_bar_is_closed_on_ctrl_c_and_counts_what_finished():
    console, out = terminal()
    bar = ProgressBar(console)
    result = make(replicates=5).run(store=False, progress=False, callbacks=[bar, Stopper(after=7)])
    assert result.interrupted
    assert not bar.showing
    assert "7/15" in out.getvalue()


def test_the_bar_on_a_process_backend():
    console, out = terminal()
    bar = ProgressBar(console)
    make(replicates=4).run(backend="processes", workers=2, store=False, progress=False, callbacks=[bar])
    assert "12/12" in out.getvalue() and "0 failed" in out.getvalue()
