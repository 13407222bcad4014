"""Ctrl-C (SIGINT) and SIGTERM during an experiment run.

Left to Python, a Ctrl-C raises ``KeyboardInterrupt`` wherever the main thread
happens to be, and is dropped when that is inside a finaliser (``__del__``, a
weakref callback), so one press can go unnoticed; SIGTERM (``docker stop``,
batch schedulers) ends the process at once, losing the runs not yet
committed. During ``Experiment.run`` (in the main thread) crystallize handles
both signals itself:

* **The first signal stops the run cleanly.** The request is noted at once.
  Where the main thread executes a run's own code (the serial backend) or a
  backend's own blocking call, ``KeyboardInterrupt`` is raised right there;
  while a record is being stored, or inside the shared scheduling loop, the
  request is acted on at the next safe point (the loop looks at least every
  :data:`TICK` seconds), so a dropped exception still stops the run. The
  finished runs are committed, the experiment run is marked interrupted and
  ``run()`` returns the partial result (``result.interrupted``).
* **A second signal aborts at once:** ``KeyboardInterrupt`` propagates out of
  ``run()`` (what was recorded stays committed and the run is marked
  interrupted), and the handlers in place before ``run()`` are back, so a
  third press acts as it would without crystallize.
* A signal that arrives when every run has already finished (during the
  analysis) does not cut the analysis short: once everything is committed it
  is delivered to the handler that was in place before ``run()``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

__all__ = ["TICK", "StopSignals", "active", "checkpoint", "deferred", "reclaim"]

#: Seconds the scheduling loop may block before it looks for a stop request.
TICK = 0.2

_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)
_ACTIVE: list[StopSignals] = []  # innermost last; only ever touched from the main thread


class StopSignals:
    """Handles SIGINT and SIGTERM while an experiment run is active (a context
    manager; outside the main thread it does nothing).

    Attributes:
        received: the first signal's number, or ``None``.
        aborted: a second signal came: stop at once.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.aborted = False
        self.handled = False  # the first signal stopped the run (or needs no delivery)
        self.armed = False  # a run's own code or a backend's blocking call holds the main thread
        self.safe = 0  # depth of regions where the first signal only sets the request
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
            _ACTIVE.append(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self not in _ACTIVE:
            return
        _ACTIVE.remove(self)
        self._restore()
        if exc is None and self.received is not None and not self.handled and not self.aborted:
            signal.raise_signal(self.received)  # it came after the last run: the caller's handler acts now

    @property
    def name(self) -> str:
        """The first signal's name (``"SIGINT"``, ``"SIGTERM"``), or ``""``."""
        return signal.Signals(self.received).name if self.received is not None else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            self.aborted = True
            self._restore()
            raise KeyboardInterrupt(f"{signal.Signals(signum).name} received again: aborting")
        self.received = signum
        if self.armed and not self.safe:
            raise KeyboardInterrupt(f"{signal.Signals(signum).name} received: stopping")

    def _restore(self) -> None:
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def reinstall(self) -> None:
        """Take the signals back from a library that replaced the handlers
        (``ray.init`` installs its own for SIGTERM)."""
        for signum in self._previous:
            if signal.getsignal(signum) != self._handle:
                signal.signal(signum, self._handle)

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if a stop was asked for and not yet acted on."""
        if self.received is not None and not self.handled:
            self.handled = True
            raise KeyboardInterrupt(f"{self.name} received: stopping")


def active() -> StopSignals | None:
    """The signal handling of the experiment run in progress in this (main) thread, if any."""
    if _ACTIVE and threading.current_thread() is threading.main_thread():
        return _ACTIVE[-1]
    return None


def checkpoint() -> None:
    """A safe point: stop here (``KeyboardInterrupt``) if a stop was asked for."""
    signals = active()
    if signals is not None:
        signals.check()


@contextmanager
def deferred() -> Iterator[None]:
    """A region where a first signal only notes the request (a second still aborts)."""
    signals = active()
    if signals is None:
        yield
        return
    signals.safe += 1
    try:
        yield
    finally:
        signals.safe -= 1


def reclaim() -> None:
    """Reinstall the handlers of the run in progress after a library replaced them."""
    signals = active()
    if signals is not None:
        signals.reinstall()
