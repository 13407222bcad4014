from __future__ import annotations

import io
import logging
import re
import time

import pytest
from rich.console import Console

from crystallize import RunFailedError
from crystallize.execution import make_progress
from crystallize.execution.progress import NullProgress, ProgressBar, ProgressLog, log_interval

from ..sequential_runs import sequential_experiment
from .experiments import Stopper, make


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120, color_system=None), out


def test_progress_false_shows_nothing_and_no_terminal_gets_log_lines():
    assert isinstance(make_progress(False), NullProgress)
    assert isinstance(make_progress(None), ProgressLog)  # pytest captures stderr: not a terminal
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


def test_the_bar_labels_elapsed_and_left():
    # issue 15: the bar read "0:00:22 left 0:00:01", the elapsed time looking like the time left
    console, out = terminal()
    make(replicates=3).run(store=False, progress=False, callbacks=[ProgressBar(console)])
    assert re.search(r"9/9 runs · 0 failed · elapsed \d:\d\d:\d\d · left \d:\d\d:\d\d", out.getvalue())


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


# -- sequential experiments ---------------------------------------------------------------------


class Evidence:
    """Keeps what the bar shows after each look (a listener placed after the bar)."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self.seen: list[tuple[int, int, str]] = []

    def on_look(self, look) -> None:  # type: ignore[no-untyped-def]
        self.seen.append((self.bar.done, self.bar.total, self.bar.tally.text()))


def test_a_sequential_bar_shows_each_round_and_its_total_grows_round_by_round():
    console, out = terminal()
    bar = ProgressBar(console)
    evidence = Evidence(bar)
    result = sequential_experiment().run(store=False, progress=False, callbacks=[bar, evidence])
    assert (result.stopped_at, result.stop_reason) == (35, "decided")  # 7 looks, 3 conditions, budget 60
    decided = [0, 0, 0, 1, 1, 1, 2]
    assert evidence.seen == [(15 * k, 15 * (k + 1) if k < 7 else 105,
                              f"round {k} · {5 * k} replicates · {decided[k - 1]} of 2 decided") for k in range(1, 8)]
    text = out.getvalue()
    assert "round 7 · 35 replicates · 2 of 2 decided" in text and "105/105" in text
    assert "/180" not in text  # never the budget's 60 x 3 runs as the total
    assert "round ends in" in text
    assert (bar.done, bar.total) == (105, 105) and not bar.showing


def test_without_a_terminal_each_look_is_logged_at_info(caplog):
    caplog.set_level(logging.INFO, logger="crystallize")
    sequential_experiment().run(store=False, progress=None)  # pytest's stderr is not a terminal
    lines = [r.getMessage() for r in caplog.records if "round " in r.getMessage()]
    assert len(lines) == 7
    assert lines[0] == "experiment 'seq': round 1 · 5 replicates · 0 of 2 decided"
    assert lines[3] == "experiment 'seq': round 4 · 20 replicates · 1 of 2 decided; decided now: x / better: accepted"
    assert lines[6] == "experiment 'seq': round 7 · 35 replicates · 2 of 2 decided; decided now: x / same: futile"


def test_a_resumed_sequential_bar_counts_the_stored_runs_and_continues_the_rounds(tmp_path):
    experiment = sequential_experiment()
    first = experiment.run(store=tmp_path, progress=False, callbacks=[Stopper(after=37)])  # in round 3
    assert first.interrupted
    console, out = terminal()
    bar = ProgressBar(console)
    evidence = Evidence(bar)
    result = sequential_experiment().run(store=tmp_path, resume=True, progress=False, callbacks=[bar, evidence])
    assert result.stopped_at == 35 and result.provenance["resumed_runs"] == 37
    # the replayed looks (5, 10) come first; the rounds go on from there
    assert [text.split(" · ")[0] for _, _, text in evidence.seen] == [f"round {k}" for k in range(1, 8)]
    assert bar.done == bar.total == len(result.records)
    assert f"{len(result.records)}/{len(result.records)}" in out.getvalue()


# -- without a terminal: log lines ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def progress_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if " runs, " in r.getMessage()]


def test_a_progress_line_says_runs_failures_elapsed_and_time_left():
    clock = FakeClock()
    log = ProgressLog(interval=3600, clock=clock)
    experiment = make(replicates=4)
    planned = experiment.plan()
    log.on_experiment_start(experiment, planned, planned[2:])  # 2 runs loaded from the store
    try:
        assert log.line() == "experiment 'experiment': 2/12 runs, 0 failed · elapsed 0:00:00"
        clock.now += 90.0
        records = make(replicates=2, fail_at=(0, 1)).run(store=False, progress=False).records
        failed, ok = [r for r in records if not r.ok], [r for r in records if r.ok]
        for record in [*failed, ok[0]]:
            log.on_run_complete(record)  # 2 failed, 1 ok: 3 runs in 90 s, 7 left at 30 s each
        assert log.line() == "experiment 'experiment': 5/12 runs, 2 failed · elapsed 0:01:30 · left 0:03:30"
        clock.now += 3600.0 * 2
        assert "elapsed 2:01:30" in log.line()
    finally:
        log.close()


def test_without_a_terminal_progress_is_logged_at_a_steady_interval_and_at_the_end(caplog):
    caplog.set_level(logging.INFO, logger="crystallize")
    log = ProgressLog(interval=0.02)
    experiment = make(replicates=3, sleep_at=(0, 1, 2), sleep_for=0.05)
    result = experiment.run(store=False, progress=False, callbacks=[log])
    lines = progress_lines(caplog)
    assert len(lines) >= 2  # three runs sleep 0.05 s each: several intervals, then the last line
    assert all(re.fullmatch(r"experiment 'experiment': \d+/12 runs, 0 failed · elapsed \d:\d\d:\d\d"
                            r"( · left \d:\d\d:\d\d)?", line) for line in lines), lines
    assert lines[-1].startswith("experiment 'experiment': 12/12 runs, 0 failed · elapsed ")
    assert "left" not in lines[-1]
    assert len(result.records) == 12
    log.close()  # again: no second last line, no thread left
    assert len(progress_lines(caplog)) == len(lines)


def test_the_progress_log_stops_when_the_run_raises(caplog):
    caplog.set_level(logging.INFO, logger="crystallize")
    log = ProgressLog(interval=0.01)
    with pytest.raises(RunFailedError):
        make(replicates=3, fail_at=(1,)).run(store=False, progress=False, fail_fast=True, callbacks=[log])
    count = len(progress_lines(caplog))
    assert "failed" in progress_lines(caplog)[-1]
    time.sleep(0.1)
    assert len(progress_lines(caplog)) == count  # the thread stopped with the run


def test_the_log_interval_comes_from_the_environment(monkeypatch, caplog):
    assert log_interval() == 30.0
    monkeypatch.setenv("CRYSTALLIZE_PROGRESS_INTERVAL", "2.5")
    assert log_interval() == 2.5 and ProgressLog().interval == 2.5
    monkeypatch.setenv("CRYSTALLIZE_PROGRESS_INTERVAL", "soon")
    assert log_interval() == 30.0
    assert "CRYSTALLIZE_PROGRESS_INTERVAL='soon' is not a positive number of seconds; using 30" in caplog.text
