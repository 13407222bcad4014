"""Statistical tests as small, inspectable configuration objects.

A test compares the baseline's samples of one metric with a treatment's.
Subclass :class:`StatisticalTest` for your own; ``run`` must return a mapping
with at least ``p_value`` and ``significant``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from scipy import stats as _sp

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")

__all__ = ["ALTERNATIVES", "Alternative", "StatisticalTest", "WelchTTest"]


class StatisticalTest(ABC):
    """Base class of every test.

    Attributes:
        name: short name shown in verdicts (defaults to the class name).
        paired: ``True`` when the test needs replicate-aligned samples; the
            experiment then passes baseline and treatment of the same
            replicates, in the same order.
        min_samples: fewest samples per side the test can use; below it the
            verdict says "insufficient data" instead of calling ``run``.
    """

    name: ClassVar[str] = ""
    paired: ClassVar[bool] = False
    min_samples: ClassVar[int] = 2

    def __init__(self, alternative: Alternative = "two-sided") -> None:
        if alternative not in ALTERNATIVES:
            raise ValueError(f"alternative={alternative!r} is not one of {ALTERNATIVES}")
        self.alternative: Alternative = alternative

    @property
    def test_name(self) -> str:
        """The name shown in verdicts."""
        return self.name or type(self).__name__

    @abstractmethod
    def run(
        self, baseline: Sequence[float], treatment: Sequence[float], *, alpha: float = 0.05
    ) -> Mapping[str, Any]:
        """Compare ``treatment`` against ``baseline``.

        Returns:
            A mapping with at least ``p_value`` (float) and ``significant`` (bool).
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alternative={self.alternative!r})"


class WelchTTest(StatisticalTest):
    """Welch's unequal-variance t-test on independent samples (two-sided by default)."""

    name = "welch_t"

    def run(
        self, baseline: Sequence[float], treatment: Sequence[float], *, alpha: float = 0.05
    ) -> Mapping[str, Any]:
        b = np.asarray(baseline, dtype=float)
        t = np.asarray(treatment, dtype=float)
        res = _sp.ttest_ind(t, b, equal_var=False, alternative=self.alternative)
        p = float(res.pvalue)
        if np.isnan(p):  # zero variance on both sides
            p = 1.0 if np.mean(t) == np.mean(b) else 0.0
        return {
            "test": self.test_name,
            "statistic": float(res.statistic),
            "p_value": p,
            "significant": p < alpha,
            "n_baseline": int(b.size),
            "n_treatment": int(t.size),
        }
