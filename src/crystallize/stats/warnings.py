"""Warnings raised when statistics meet degenerate data.

Each still comes with a defined answer; the warning says why it may mislead.
"""

from __future__ import annotations

__all__ = [
    "CrystallizeWarning",
    "DegenerateDataWarning",
    "FailureImbalanceWarning",
    "InsufficientDataWarning",
]


class CrystallizeWarning(UserWarning):
    """Root of every warning crystallize emits."""


class InsufficientDataWarning(CrystallizeWarning):
    """Too few samples to compute a statistic; the verdict says so."""


class DegenerateDataWarning(CrystallizeWarning):
    """Zero variance or constant samples; the answer is defined but degenerate."""


class FailureImbalanceWarning(CrystallizeWarning):
    """Conditions lost different shares of runs, which can bias a comparison."""


for _cls in (CrystallizeWarning, InsufficientDataWarning, DegenerateDataWarning, FailureImbalanceWarning):
    _cls.__module__ = "crystallize"
