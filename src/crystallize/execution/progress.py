"""Progress: runs done out of total, failures so far, time elapsed and left.

On a terminal (or in Jupyter) a bar (``elapsed 0:00:22 · left 0:00:01``);
without one (nohup, CI, SLURM, a notebook's log file) an INFO line on the
``crystallize`` logger every 30 seconds (``CRYSTALLIZE_PROGRESS_INTERVAL``)
and one at the end; nothing with ``progress=False``. Records update counters;
the bar is refreshed at most ten times a second, so a record costs well under
a microsecond.

A sequential experiment's bar shows the evidence after each look ("round 7 ·
35 replicates · 1 of 2 decided"); its total is the runs of the rounds so far,
growing by one round at each look that does not stop the experiment, and its
time left is that of the current round, not of the budget. Without a bar
(no terminal, or ``progress=False``), each look is logged at INFO instead.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.core.safe_text import markup_safe, printable

__all__ = ["LookTally", "NullProgress", "ProgressBar", "ProgressLog", "close_open_bars", "log_interval",
           "make_progress"]

log = logging.getLogger("crystallize")

_INTERVAL = 0.1  # seconds between two updates of the bar
_OPEN: dict[_RunCounts, int] = {}  # bars showing (logs logging) now -> the thread that started them
#: Seconds between two progress lines without a terminal, unless ``CRYSTALLIZE_PROGRESS_INTERVAL`` says otherwise.
LOG_INTERVAL = 30.0
_LOCK = threading.Lock()


class LookTally:
    """The evidence of a sequential experiment, look after look: the round, the
    replicates, how many comparisons are decided, and which were decided last."""

    def __init__(self) -> None:
        self.rounds = 0
        self.replicates = 0
        self.decided = 0
        self.comparisons = 0
        self.stops = False  # every comparison decided: no round follows
        self._decisions: dict[tuple[str, str], str] = {}
        self.news: list[str] = []  # decisions made at the last look

    def add(self, look: Mapping[str, Any]) -> None:
        """Count ``look`` (``{"replicates": n, "verdicts": [...]}``, see ``Listener.on_look``)."""
        rows = list(look.get("verdicts", ()))
        self.rounds += 1
        self.replicates = int(look.get("replicates", 0))
        self.comparisons = len(rows)
        self.decided = sum(row.get("decision", "undecided") != "undecided" for row in rows)
        self.stops = bool(rows) and self.decided == len(rows)
        self.news = []
        for row in rows:
            key, decision = (str(row.get("hypothesis")), str(row.get("treatment"))), str(row.get("decision"))
            if decision != "undecided" and self._decisions.get(key) != decision:
                self.news.append(f"{key[0]} / {key[1]}: {decision}")
            self._decisions[key] = decision

    def text(self) -> str:
        """``"round 7 · 35 replicates · 1 of 2 decided"``."""
        return f"round {self.rounds} · {self.replicates} replicates · {self.decided} of {self.comparisons} decided"

    def log(self, name: object) -> None:
        """The look as one INFO line."""
        news = f"; decided now: {'; '.join(self.news)}" if self.news else ""
        log.info("experiment %s: %s%s", printable(repr(name)), self.text(), printable(news))


class NullProgress:
    """A listener that shows nothing; a sequential experiment's looks are logged at INFO."""

    def __init__(self) -> None:
        self.tally = LookTally()
        self.name: object = "experiment"

    def on_experiment_start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        """Note the experiment's name for the log."""
        self.name = getattr(experiment, "name", "experiment")

    def on_look(self, look: Mapping[str, Any]) -> None:
        """Log the evidence so far."""
        self.tally.add(look)
        self.tally.log(self.name)

    def close(self) -> None:
        """Nothing to close."""


class _Progress(Progress):
    """Rich's progress display, with a sequential experiment's evidence on a line of its own."""

    evidence = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.evidence:
            yield Text(self.evidence)


class _RunCounts:
    """Runs done, failed and planned, counted by a listener; a sequential experiment's
    total grows round by round (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.done = 0
        self.failed = 0
        self.total = 0
        self.tally = LookTally()
        self._design: Any = None  # the Sequential design of a sequential experiment
        self._conditions = 0
        self._target = 0  # replicates per condition at the end of the current round
        self._name: object = "experiment"
        self._clock = clock
        self._started = clock()
        self._resumed = 0  # runs loaded from the store: done, but not timed

    def _start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        self._name = getattr(experiment, "name", "experiment")
        self._design = getattr(experiment, "sequential", None)
        self.failed = 0
        if self._design is None:
            self.total = len(planned)
        else:
            self._conditions = len(getattr(experiment, "conditions", ())) or 1
            self._target = max((spec.replicate + 1 for spec in todo), default=self.tally.replicates)
            self.total = self._target * self._conditions
        self.done = self._resumed = self.total - len(todo)
        self._started = self._clock()

    def _count(self, record: RunRecord) -> None:
        self.done += 1
        self.total = max(self.total, self.done)
        if record.status != "ok":
            self.failed += 1

    def _grow(self, look: Mapping[str, Any]) -> None:
        self.tally.add(look)
        design = self._design
        if design is not None and not self.tally.stops and self.tally.replicates < design.max:
            target = design.next_look(self._target)
            self.total += (target - self._target) * self._conditions
            self._target = target

    def _opened(self) -> None:
        """Showing now: :func:`close_open_bars` closes it when the run ends, however it ends."""
        with _LOCK:
            _OPEN[self] = threading.get_ident()

    def _closed(self) -> None:
        with _LOCK:
            _OPEN.pop(self, None)

    def on_experiment_end(self, result: Any) -> None:
        """Show (or log) the final counts and stop."""
        self.close()

    def close(self) -> None:
        """Stop showing progress."""
        raise NotImplementedError

    def elapsed(self) -> float:
        """Seconds since the experiment started."""
        return self._clock() - self._started

    def left(self) -> float | None:
        """Seconds to the last planned run (of the current round) at the pace so far; ``None`` before a run ends."""
        timed = self.done - self._resumed
        return self.elapsed() / timed * (self.total - self.done) if timed > 0 else None


class ProgressBar(_RunCounts):
    """A Rich progress bar listening to an experiment run.

    Args:
        console: where to draw (default: standard error).
    """

    def __init__(self, console: Console | None = None) -> None:
        super().__init__()
        self.console = console or Console(stderr=True)
        self._progress: _Progress | None = None
        self._task: TaskID | None = None
        self._next = 0.0

    def on_experiment_start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        """Show the bar; runs loaded from the store (resume) count as done. A sequential
        experiment's total is the runs up to the end of its first round (``todo``)."""
        self._start(experiment, planned, todo)
        progress = _Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("runs · {task.fields[failures]} · elapsed"), TimeElapsedColumn(),
            TextColumn("· left" if self._design is None else "· round ends in"), TimeRemainingColumn(),
            console=self.console, refresh_per_second=10,
        )
        progress.evidence = self._evidence()
        label = markup_safe(self._name)  # the column's template is markup
        self._task = progress.add_task(label, total=self.total, completed=self.done, failures=self._failures())
        try:
            progress.start()
        except Exception as exc:  # noqa: BLE001 - e.g. another live display is active: run without a bar
            log.debug("no progress bar: %s", exc)
            return
        self._progress = progress
        self._opened()

    def _failures(self) -> str:
        return f"[red]{self.failed} failed[/]" if self.failed else "0 failed"

    def _evidence(self) -> str:
        if self.tally.rounds:
            return self.tally.text()
        return f"first look at {self._design.min} replicates" if self._design is not None else ""

    def on_run_complete(self, record: RunRecord) -> None:
        """Count the record; redraw at most every 0.1 s."""
        self._count(record)
        if self._progress is not None:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + _INTERVAL
                self._progress.update(self._task, completed=self.done, total=self.total,  # type: ignore[arg-type]
                                      failures=self._failures())

    def on_look(self, look: Mapping[str, Any]) -> None:
        """Show the evidence after a look; unless it stops the experiment, the next round's
        runs join the total. Looks replayed on resume (before the bar starts) are counted."""
        self._grow(look)
        if self._progress is not None:
            self._progress.evidence = self._evidence()
            self._progress.update(self._task, completed=self.done, total=self.total,  # type: ignore[arg-type]
                                  failures=self._failures())
        if not self.console.is_terminal:
            self.tally.log(self._name)

    def close(self) -> None:
        """Show the final counts and stop drawing (safe to call twice)."""
        progress, self._progress = self._progress, None
        self._closed()
        if progress is not None:
            progress.evidence = self._evidence()
            progress.update(self._task, completed=self.done, total=self.total,  # type: ignore[arg-type]
                            failures=self._failures())
            progress.stop()

    @property
    def showing(self) -> bool:
        """Whether the bar is on screen."""
        return self._progress is not None


def _clock_text(seconds: float) -> str:
    """``3725.2`` -> ``"1:02:05"``, as Rich's bar writes times."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def log_interval() -> float:
    """Seconds between progress lines: ``CRYSTALLIZE_PROGRESS_INTERVAL`` if set to a positive
    number, :data:`LOG_INTERVAL` (30) otherwise."""
    raw = os.environ.get("CRYSTALLIZE_PROGRESS_INTERVAL", "").strip()
    try:
        seconds = float(raw) if raw else LOG_INTERVAL
    except ValueError:
        seconds = -1.0
    if not seconds > 0:  # also NaN
        log.warning("CRYSTALLIZE_PROGRESS_INTERVAL=%r is not a positive number of seconds; using %g",
                    printable(raw), LOG_INTERVAL)
        return LOG_INTERVAL
    return seconds


class ProgressLog(_RunCounts):
    """Progress without a terminal: an INFO line on the ``crystallize`` logger every
    ``interval`` seconds while the experiment runs, and one when it ends::

        experiment 'digits': 24/36 runs, 0 failed · elapsed 0:01:02 · left 0:00:31

    A sequential experiment's looks are logged too, each as it happens.

    Args:
        interval: seconds between two lines (default: :func:`log_interval`).
        clock: where the time comes from (``time.monotonic``).
    """

    def __init__(self, interval: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.interval = log_interval() if interval is None else interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def line(self) -> str:
        """The progress so far as one line (what is logged)."""
        left = self.left()
        until = "round ends in" if self._design is not None else "left"
        pace = f" · {until} {_clock_text(left)}" if left is not None and self.done < self.total else ""
        return (f"experiment {printable(repr(self._name))}: {self.done}/{self.total} runs, {self.failed} failed"
                f" · elapsed {_clock_text(self.elapsed())}{pace}")

    def on_experiment_start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        """Start logging every ``interval`` seconds."""
        self._start(experiment, planned, todo)
        self._stop.clear()
        self._thread = threading.Thread(target=self._every_interval, name="crystallize-progress", daemon=True)
        self._thread.start()
        self._opened()

    def _every_interval(self) -> None:
        while not self._stop.wait(self.interval):
            log.info("%s", self.line())

    def on_run_complete(self, record: RunRecord) -> None:
        """Count the record."""
        self._count(record)

    def on_look(self, look: Mapping[str, Any]) -> None:
        """Log the evidence after a look; its next round joins the total."""
        self._grow(look)
        self.tally.log(self._name)

    def close(self) -> None:
        """Stop logging, with a last line (safe to call twice: the last line is logged once)."""
        thread, self._thread = self._thread, None
        self._closed()
        if thread is not None:
            self._stop.set()
            thread.join()
            log.info("%s", self.line())


def close_open_bars() -> None:
    """Stop every bar (and progress log) this thread started: the driver calls it when a run ends,
    however it ends, so the terminal is never left with a live bar."""
    me = threading.get_ident()
    with _LOCK:
        bars = [bar for bar, owner in _OPEN.items() if owner == me]
    for bar in bars:
        bar.close()


def make_progress(progress: bool | None) -> ProgressBar | ProgressLog | NullProgress:
    """The progress listener for ``Experiment.run(progress=...)``.

    Args:
        progress: ``True`` always shows a bar, ``False`` nothing, ``None`` (the
            default) a bar on a terminal or in Jupyter and INFO log lines otherwise.
    """
    if progress is False:
        return NullProgress()
    console = Console(stderr=True)
    if progress is None and not (console.is_terminal or console.is_jupyter):
        return ProgressLog()
    return ProgressBar(console)
