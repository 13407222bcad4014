"""Sequential designs: run replicates in rounds until every hypothesis is decided.

``Experiment(replicates=Sequential(max=200, batch=5, min=5))`` runs ``min``
replicates of every condition, looks at the evidence with an anytime-valid test,
and runs ``batch`` more until every hypothesis is decided (or futile), or
``max`` replicates are spent. Replicate ``i``'s seed never depends on when the
experiment looked, so a sequential run's replicates are those of a fixed run of
the same size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crystallize.core.exceptions import ExperimentDefinitionError

__all__ = ["STOP_REASONS", "Sequential"]

#: Why a sequential experiment stopped.
STOP_REASONS: tuple[str, ...] = ("decided", "futile", "max_replicates", "interrupted")


def _count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__") or int(value) < minimum:
        raise ExperimentDefinitionError(f"Sequential({name}={value!r}): {name} must be a whole number >= {minimum}")
    return int(value)


@dataclass(frozen=True, slots=True)
class Sequential:
    """Replicates in rounds, looked at after each one with an anytime-valid test.

    Args:
        max: the budget: at most this many replicates per condition.
        batch: replicates per condition added in each round.
        min: replicates per condition before the first look (at least 2).

    Examples:
        >>> Sequential(max=20, batch=5, min=5).looks()
        [5, 10, 15, 20]
        >>> Sequential(max=12, batch=5, min=5).looks()
        [5, 10, 12]
    """

    max: int
    batch: int = 5
    min: int = 5

    def __post_init__(self) -> None:
        object.__setattr__(self, "max", _count(self.max, "max", 2))
        object.__setattr__(self, "batch", _count(self.batch, "batch", 1))
        object.__setattr__(self, "min", _count(self.min, "min", 2))
        if self.min > self.max:
            raise ExperimentDefinitionError(
                f"Sequential(min={self.min}, max={self.max}): min must not exceed max")

    def looks(self) -> list[int]:
        """The replicate counts at which the evidence is looked at: ``min``, then every
        ``batch`` more, and ``max`` last."""
        counts = list(range(self.min, self.max + 1, self.batch))
        if counts[-1] != self.max:
            counts.append(self.max)
        return counts

    def next_look(self, done: int) -> int:
        """How many replicates the round after ``done`` brings the experiment to."""
        if done < self.min:
            return self.min
        return min(self.max, done + self.batch)

    def describe(self) -> dict[str, int]:
        """The design as JSON-ready data."""
        return {"max": self.max, "batch": self.batch, "min": self.min}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sequential:
        """Rebuild from :meth:`describe` output."""
        return cls(max=data["max"], batch=data.get("batch", 5), min=data.get("min", 5))
