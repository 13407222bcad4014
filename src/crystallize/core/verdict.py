"""A verdict: the answer of one hypothesis for one treatment."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Verdict", "VerdictStatus"]

VerdictStatus = Literal["ok", "insufficient data", "skipped"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of one hypothesis for one treatment against the baseline.

    ``p_value`` is the test's raw p-value; ``p_value_adjusted`` the p-value
    after the experiment's multiple-comparison correction (equal to the raw one
    when there is a single comparison). ``significant`` and ``accepted``
    follow the adjusted p-value. The ``ci`` is for the treatment-minus-baseline
    difference at level ``1 - alpha``.
    """

    hypothesis: str
    metric: str
    treatment: str
    direction: str | None
    test: str
    alpha: float
    status: VerdictStatus = "ok"
    statistic: float | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = None
    correction: str | None = None
    significant: bool = False
    accepted: bool = False
    effect_size: float | None = None
    effect_size_name: str | None = None
    ci: tuple[float, float] | None = None
    mean_baseline: float | None = None
    mean_treatment: float | None = None
    n_baseline: int = 0
    n_treatment: int = 0
    n_pairs: int | None = None
    failed_baseline: int = 0
    failed_treatment: int = 0
    margin: float | None = None
    notes: tuple[str, ...] = ()
    direction_matches: bool = field(default=True, repr=False)
    details: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def mean_difference(self) -> float | None:
        """Treatment mean minus baseline mean."""
        if self.mean_baseline is None or self.mean_treatment is None:
            return None
        return self.mean_treatment - self.mean_baseline

    @property
    def relative_difference(self) -> float | None:
        """The mean difference as a fraction of the baseline mean (``None`` if it is 0)."""
        diff = self.mean_difference
        if diff is None or not self.mean_baseline:
            return None
        return diff / abs(self.mean_baseline)

    @property
    def label(self) -> str:
        """The verdict in words: ``"accepted"``, ``"not accepted"`` (no evidence),
        ``"opposite direction"`` (significant, but against the hypothesised
        direction), or the status (``"insufficient data"``, ``"skipped"``)."""
        if self.status != "ok":
            return self.status
        if self.accepted:
            return "accepted"
        return "opposite direction" if self.significant and not self.direction_matches else "not accepted"

    def adjusted(self, p_adjusted: float, method: str | None) -> Verdict:
        """A copy whose decision follows ``p_adjusted``."""
        significant = p_adjusted < self.alpha
        return dataclasses.replace(
            self, p_value_adjusted=p_adjusted, correction=method, significant=significant,
            accepted=significant and self.direction_matches,
        )

    def with_notes(self, *notes: str) -> Verdict:
        """A copy with ``notes`` appended."""
        return dataclasses.replace(self, notes=self.notes + tuple(notes))

    def as_dict(self) -> dict[str, Any]:
        """The mapping view used by ``result.metrics["hypothesis"]`` and JSON."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "details"}
        data["ci"] = list(self.ci) if self.ci is not None else None
        data["notes"] = list(self.notes)
        data["mean_difference"] = self.mean_difference
        data["relative_difference"] = self.relative_difference
        data["verdict"] = self.label
        data["details"] = dict(self.details)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Rebuild a verdict from :meth:`as_dict` output."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if kwargs.get("ci") is not None:
            kwargs["ci"] = tuple(kwargs["ci"])
        kwargs["notes"] = tuple(kwargs.get("notes", ()))
        return cls(**kwargs)
