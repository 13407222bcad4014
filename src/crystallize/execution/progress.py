"""The progress bar: runs done out of total, failures so far, time left.

Shown on a terminal (or in Jupyter) by default, silent otherwise or with
``progress=False``. Records update counters; the bar itself is refreshed at
most ten times a second, so a record costs well under a microsecond.

A sequential experiment's bar shows the evidence after each look ("round 7 ·
35 replicates · 1 of 2 decided"); its total is the runs of the rounds so far,
growing by one round at each look that does not stop the experiment, and its
time left is that of the current round, not of the budget. Without a bar
(no terminal, or ``progress=False``), each look is logged at INFO instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
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

__all__ = ["LookTally", "NullProgress", "ProgressBar", "close_open_bars", "make_progress"]

log = logging.getLogger("crystallize")

_INTERVAL = 0.1  # seconds between two updates of the bar
_OPEN: dict[ProgressBar, int] = {}  # bars showing now -> the thread that started them
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


class ProgressBar:
    """A Rich progress bar listening to an experiment run.

    Args:
        console: where to draw (default: standard error).
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.done = 0
        self.failed = 0
        self.total = 0
        self.tally = LookTally()
        self._design: Any = None  # the Sequential design of a sequential experiment
        self._conditions = 0
        self._target = 0  # replicates per condition at the end of the current round
        self._name: object = "experiment"
        self._progress: _Progress | None = None
        self._task: TaskID | None = None
        self._next = 0.0

    def on_experiment_start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        """Show the bar; runs loaded from the store (resume) count as done. A sequential
        experiment's total is the runs up to the end of its first round (``todo``)."""
        self._name = getattr(experiment, "name", "experiment")
        self._design = getattr(experiment, "sequential", None)
        self.failed = 0
        if self._design is None:
            self.total = len(planned)
        else:
            self._conditions = len(getattr(experiment, "conditions", ())) or 1
            self._target = max((spec.replicate + 1 for spec in todo), default=self.tally.replicates)
            self.total = self._target * self._conditions
        self.done = self.total - len(todo)
        progress = _Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("runs  {task.fields[failures]}"), TimeElapsedColumn(),
            TextColumn("left" if self._design is None else "round ends in"), TimeRemainingColumn(),
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
        with _LOCK:
            _OPEN[self] = threading.get_ident()

    def _failures(self) -> str:
        return f"[red]{self.failed} failed[/]" if self.failed else "0 failed"

    def _evidence(self) -> str:
        if self.tally.rounds:
            return self.tally.text()
        return f"first look at {self._design.min} replicates" if self._design is not None else ""

    def on_run_complete(self, record: RunRecord) -> None:
        """Count the record; redraw at most every 0.1 s."""
        self.done += 1
        self.total = max(self.total, self.done)
        if record.status != "ok":
            self.failed += 1
        if self._progress is not None:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + _INTERVAL
                self._progress.update(self._task, completed=self.done, total=self.total,  # type: ignore[arg-type]
                                      failures=self._failures())

    def on_look(self, look: Mapping[str, Any]) -> None:
        """Show the evidence after a look; unless it stops the experiment, the next round's
        runs join the total. Looks replayed on resume (before the bar starts) are counted."""
        self.tally.add(look)
        design = self._design
        if design is not None and not self.tally.stops and self.tally.replicates < design.max:
            target = design.next_look(self._target)
            self.total += (target - self._target) * self._conditions
            self._target = target
        if self._progress is not None:
            self._progress.evidence = self._evidence()
            self._progress.update(self._task, completed=self.done, total=self.total,  # type: ignore[arg-type]
                                  failures=self._failures())
        if not self.console.is_terminal:
            self.tally.log(self._name)

    def on_experiment_end(self, result: Any) -> None:
        """Show the final counts and stop."""
        self.close()

    def close(self) -> None:
        """Show the final counts and stop drawing (safe to call twice)."""
        progress, self._progress = self._progress, None
        with _LOCK:
            _OPEN.pop(self, None)
        if progress is not None:
            progress.evidence = self._evidence()
            progress.update(self._task, completed=self.done, total=self.total,  # type: ignore[arg-type]
                            failures=self._failures())
            progress.stop()

    @property
    def showing(self) -> bool:
        """Whether the bar is on screen."""
        return self._progress is not None


def close_open_bars() -> None:
    """Stop every bar this thread started: the driver calls it when a run ends,
    however it ends, so the terminal is never left with a live bar."""
    me = threading.get_ident()
    with _LOCK:
        bars = [bar for bar, owner in _OPEN.items() if owner == me]
    for bar in bars:
        bar.close()


def make_progress(progress: bool | None) -> ProgressBar | NullProgress:
    """The progress listener for ``Experiment.run(progress=...)``.

    Args:
        progress: ``True`` always shows a bar, ``False`` never, ``None`` (the
            default) only on a terminal or in Jupyter.
    """
    if progress is False:
        return NullProgress()
    console = Console(stderr=True)
    if progress is None and not (console.is_terminal or console.is_jupyter):
        return NullProgress()
    return ProgressBar(console)
