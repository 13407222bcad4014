"""Run records: the value each run leaves behind, success or failure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from crystallize.core.jsonable import to_jsonable
from crystallize.core.pipeline import StepRecord

__all__ = ["RunError", "RunRecord", "RunStatus", "to_jsonable"]

RunStatus = Literal["ok", "failed", "timeout"]


@dataclass(frozen=True, slots=True)
class RunError:
    """Why a run failed: exception type, message, traceback and failing step."""

    condition: str
    replicate: int
    type: str
    message: str
    traceback: str
    step: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"condition": self.condition, "replicate": self.replicate, "type": self.type,
                "message": self.message, "traceback": self.traceback, "step": self.step}

    def __str__(self) -> str:
        where = f" in step {self.step!r}" if self.step else ""
        return f"{self.condition}/{self.replicate}{where}: {self.type}: {self.message}"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything one run produced. Values only: picklable, JSON-ready via ``as_dict``."""

    condition: str
    replicate: int
    seed: int
    status: RunStatus
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error: RunError | None = None
    duration: float = 0.0
    started: float = 0.0
    host: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[Any, ...] = ()  # StepRecord per step
    artifacts: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()  # treatment keys no step read (first replicate of a treatment)

    @property
    def ok(self) -> bool:
        """Whether the run finished and returned metrics."""
        return self.status == "ok"

    @property
    def key(self) -> str:
        """``"<condition>/<replicate>"``."""
        return f"{self.condition}/{self.replicate}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (metric values converted to plain Python)."""
        return {
            "condition": self.condition, "replicate": self.replicate, "seed": self.seed,
            "status": self.status, "metrics": {k: to_jsonable(v) for k, v in self.metrics.items()},
            "error": self.error.as_dict() if self.error else None, "duration": self.duration,
            "started": self.started, "host": self.host,
            "params": {k: to_jsonable(v) for k, v in self.params.items()},
            "steps": [s.as_dict() if hasattr(s, "as_dict") else s for s in self.steps],
            "artifacts": list(self.artifacts), "unread": list(self.unread),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Rebuild a record from :meth:`as_dict` output."""
        error = data.get("error")
        return cls(
            condition=data["condition"], replicate=int(data["replicate"]), seed=int(data["seed"]),
            status=data["status"], metrics=dict(data.get("metrics") or {}),
            error=RunError(**error) if error else None, duration=float(data.get("duration", 0.0)),
            started=float(data.get("started", 0.0)), host=data.get("host", ""),
            params=dict(data.get("params") or {}),
            steps=tuple(StepRecord(**s) if isinstance(s, Mapping) else s for s in data.get("steps") or ()),
            artifacts=tuple(data.get("artifacts") or ()), unread=tuple(data.get("unread") or ()),
        )


def is_finite(value: Any) -> bool:
    """Whether ``value`` converts to a finite float (not NaN, not infinite, not text)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number a statistical test can use (bool counts)."""
    if isinstance(value, (bool, int, float)):
        return True
    return hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and value.dtype.kind in "biuf"

