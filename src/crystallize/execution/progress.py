"""The progress bar: runs done out of total, failures so far, time left.

Shown on a terminal (or in Jupyter) by default, silent otherwise or with
``progress=False``. Records update counters; the bar itself is refreshed at
most ten times a second, so a record costs well under a microsecond.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from crystallize.core.plan import RunSpec
from crystallize.core.record import RunRecord
from crystallize.core.safe_text import markup_safe

__all__ = ["NullProgress", "ProgressBar", "close_open_bars", "make_progress"]

log = logging.getLogger("crystallize")

_INTERVAL = 0.1  # seconds between two updates of the bar
_OPEN: dict[ProgressBar, int] = {}  # bars showing now -> the thread that started them
_LOCK = threading.Lock()


class NullProgress:
    """A listener that shows nothing."""

    def close(self) -> None:
        """Nothing to close."""


class ProgressBar:
    """A Rich progress bar listening to an experiment run.

    Args:
        console: where to draw (default: standard error).
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.done = 0
        self.failed = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._next = 0.0

    def on_experiment_start(self, experiment: Any, planned: Sequence[RunSpec], todo: Sequence[RunSpec]) -> None:
        """Show the bar; runs loaded from the store (resume) count as done."""
        self.done = len(planned) - len(todo)
        self.failed = 0
        progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("runs  {task.fields[failures]}"), TimeElapsedColumn(), TextColumn("left"),
            TimeRemainingColumn(), console=self.console, refresh_per_second=10,
        )
        label = markup_safe(getattr(experiment, "name", "experiment"))  # the column's template is markup
        self._task = progress.add_task(label, total=len(planned), completed=self.done, failures=self._failures())
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

    def on_run_complete(self, record: RunRecord) -> None:
        """Count the record; redraw at most every 0.1 s."""
        self.done += 1
        if record.status != "ok":
            self.failed += 1
        if self._progress is not None:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + _INTERVAL
                self._progress.update(self._task, completed=self.done, failures=self._failures())  # type: ignore[arg-type]

    def on_experiment_end(self, result: Any) -> None:
        """Show the final counts and stop."""
        self.close()

    def close(self) -> None:
        """Show the final counts and stop drawing (safe to call twice)."""
        progress, self._progress = self._progress, None
        with _LOCK:
            _OPEN.pop(self, None)
        if progress is not None:
            progress.update(self._task, completed=self.done, failures=self._failures())  # type: ignore[arg-type]
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
