"""Stop an experiment run whose runs all time out.

When the code hangs (a dead service, a deadlock, a timeout set far too low),
every run waits out its ``timeout=`` and the experiment spends hours learning
nothing. :class:`TimeoutStreak` watches the records as they are emitted and,
after ``limit`` timeouts in a row with no successful run in between, raises
:class:`~crystallize.execution.errors.TooManyTimeoutsError`. Failed runs neither
count nor break the streak. Every record emitted before (the timeouts included)
is kept: the driver attaches them to the error, and the store has them.
"""

from __future__ import annotations

from typing import Any

from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.record import RunRecord
from crystallize.execution.base import Emit
from crystallize.execution.errors import TooManyTimeoutsError

__all__ = ["DEFAULT_MAX_CONSECUTIVE_TIMEOUTS", "TimeoutStreak", "max_timeouts_iv"]

#: Timeouts in a row, none succeeding in between, after which a run stops.
DEFAULT_MAX_CONSECUTIVE_TIMEOUTS = 10


def max_timeouts_iv(value: Any) -> int | None:
    """Check ``max_consecutive_timeouts``: a whole number >= 1, or ``None`` (never stop)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ExperimentDefinitionError(
            f"max_consecutive_timeouts must be a whole number >= 1 or None (never stop), got {value!r}")
    return value


class TimeoutStreak:
    """Passes records on to ``emit`` and stops the run after ``limit`` timeouts in a row.

    Args:
        emit: where records go.
        limit: timeouts in a row that stop the run (``None``: never).
        timeout: the run's ``timeout=``, for the message.
        option: how the user changes ``limit``, for the message.
    """

    def __init__(self, emit: Emit, limit: int | None, timeout: float | None, option: str) -> None:
        self.emit = emit
        self.limit = limit if timeout is not None else None
        self.timeout = timeout
        self.option = option
        self.streak = 0
        self.finished = 0
        self.timeouts = 0

    def __call__(self, record: RunRecord) -> None:
        self.emit(record)
        if record.ok:
            self.streak = 0
            self.finished += 1
        elif record.status == "timeout":
            self.streak += 1
            self.timeouts += 1
            if self.limit is not None and self.streak >= self.limit:
                raise self._error()

    def _error(self) -> TooManyTimeoutsError:
        assert self.timeout is not None and self.limit is not None
        return TooManyTimeoutsError(
            f"stopped after {self.streak} runs in a row timed out (timeout={self.timeout:g}s) with none "
            f"finishing in between: the remaining runs would likely time out too. Every record is kept ({self.finished} "
            f"runs finished, {self.timeouts} timed out; exc.result; with a store, run(resume=True) continues). "
            f"Fix what hangs or raise timeout=, or allow more timeouts in a row with {self.option}",
            count=self.streak, timeout=self.timeout)
