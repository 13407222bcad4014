"""Warnings raised when statistics meet degenerate data.

Each still comes with a defined answer; the warning says why it may mislead.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "CrystallizeWarning",
    "DegenerateDataWarning",
    "DesignWarning",
    "FailureImbalanceWarning",
    "InsufficientDataWarning",
    "warn",
]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class CrystallizeWarning(UserWarning):
    """Root of every warning crystallize emits."""


class InsufficientDataWarning(CrystallizeWarning):
    """Too few samples to compute a statistic; the verdict says so."""


class DegenerateDataWarning(CrystallizeWarning):
    """Zero variance or constant samples; the answer is defined but degenerate."""


class FailureImbalanceWarning(CrystallizeWarning):
    """Conditions lost different shares of runs, which can bias a comparison."""


class DesignWarning(CrystallizeWarning):
    """The design cannot answer a hypothesis as planned (e.g. too few replicates
    for a rank test ever to be significant)."""


def warn(message: str | Warning, category: type[Warning] = UserWarning) -> None:
    """Emit a warning shown at the first line outside crystallize that led to it
    (the user's ``run()`` or ``verify()`` call), not at a line of the library."""
    level = 2  # the caller of this function
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


for _cls in (CrystallizeWarning, InsufficientDataWarning, DegenerateDataWarning, FailureImbalanceWarning,
             DesignWarning):
    _cls.__module__ = "crystallize"
