"""A verdict: the answer of one hypothesis for one treatment."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["DEFAULT_FAMILY", "ESTIMANDS", "Verdict", "VerdictStatus"]

VerdictStatus = Literal["ok", "insufficient data", "skipped"]

#: The family of every hypothesis that names none: adjusted together.
DEFAULT_FAMILY = "default"

#: What a verdict's ``estimate`` is, in words.
ESTIMANDS: dict[str, str] = {
    "mean_difference": "mean difference",
    "hodges_lehmann_shift": "Hodges-Lehmann shift",
    "pseudo_median": "pseudo-median of the paired differences",
    "relative_difference": "relative difference (of the means)",
    "win_margin": "share of replicates won minus share lost",
}


#: Labels of sequential outcomes that are not decisions.
_SEQUENTIAL_LABELS = {"futile": "no effect >= min_effect", "inconclusive": "inconclusive at max",
                      "undecided": "undecided"}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of one hypothesis for one treatment against the baseline.

    ``estimate`` is the difference the test is about, treatment minus baseline
    (``estimand`` says which: the mean difference for t and permutation tests,
    the Hodges-Lehmann shift or pseudo-median for rank tests, the relative
    difference for a relative margin); its sign decides whether a two-sided
    result goes the hypothesised way. ``ci`` is the interval of ``estimate`` at
    the two-sided level ``ci_level``: ``1 - alpha`` for a two-sided test, and
    ``1 - 2 alpha`` for a one-sided decision (a one-sided test, equivalence,
    non-inferiority), whose relevant end is then the one-sided ``1 - alpha``
    bound the decision uses. Intervals are per comparison unless
    ``ci_simultaneous`` (Bonferroni over the ``comparisons`` of the family).

    ``p_value`` is the test's raw p-value; ``p_value_adjusted`` the p-value
    after the multiple-comparison correction within the hypothesis's
    ``family`` (equal to the raw one for a single comparison). ``significant``
    and ``accepted`` follow the adjusted p-value, except when the test decided
    significance itself (``decided_by_test``): then its decision stands and its
    p-value, if any, is not adjusted.

    In a sequential experiment, ``p_value`` is the anytime-valid p-value,
    ``e_value`` the final ln E, ``ci`` the confidence sequence (valid at every
    look at once), ``decided_at`` the replicate count at the decision, and
    ``sequential`` the outcome: ``"accepted"``, ``"opposite"``, ``"futile"``,
    ``"inconclusive"`` (the budget was spent) or ``"undecided"`` (stopped early).
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
    estimate: float | None = None
    estimand: str | None = None
    ci: tuple[float, float] | None = None
    ci_level: float | None = None
    ci_simultaneous: bool = False
    mean_baseline: float | None = None
    mean_treatment: float | None = None
    sd_baseline: float | None = None
    n_baseline: int = 0
    n_treatment: int = 0
    n_pairs: int | None = None
    failed_baseline: int = 0
    failed_treatment: int = 0
    margin: float | None = None
    margin_relative: bool = False
    higher_is_better: bool | None = None
    alternative: str = "two-sided"
    family: str = DEFAULT_FAMILY
    comparisons: int = 1
    decided_by_test: bool = False
    e_value: float | None = None
    decided_at: int | None = None
    sequential: str | None = None
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
    def difference(self) -> float | None:
        """The test's own estimate, or the mean difference when it gave none."""
        return self.estimate if self.estimate is not None else self.mean_difference

    @property
    def relative_difference(self) -> float | None:
        """The mean difference as a fraction of the baseline mean's magnitude.

        ``None`` when the baseline mean is indistinguishable from 0 (within about
        two standard errors of it), where a percentage means nothing.
        """
        diff = self.mean_difference
        if diff is None or not self.mean_baseline:
            return None
        if self.sd_baseline is not None and self.n_baseline >= 2 and \
                abs(self.mean_baseline) <= 2 * self.sd_baseline / math.sqrt(self.n_baseline):
            return None
        return diff / abs(self.mean_baseline)

    @property
    def label(self) -> str:
        """The verdict in words: ``"accepted"``, ``"not accepted"`` (no evidence),
        ``"opposite direction"`` (significant, but the estimate goes against the
        hypothesised direction; never for a one-sided test), or the status
        (``"insufficient data"``, ``"skipped"``). Sequential experiments add
        ``"no effect >= min_effect"``, ``"inconclusive at max"`` and ``"undecided"``."""
        if self.status != "ok":
            return self.status
        if self.sequential in _SEQUENTIAL_LABELS:
            return _SEQUENTIAL_LABELS[self.sequential]
        if self.accepted:
            return "accepted"
        return "opposite direction" if self.significant and not self.direction_matches else "not accepted"

    def adjusted(self, p_adjusted: float, method: str | None, comparisons: int) -> Verdict:
        """A copy whose decision follows ``p_adjusted`` (unchanged when the test decided itself)."""
        if self.decided_by_test:
            return dataclasses.replace(self, comparisons=comparisons)
        significant = p_adjusted < self.alpha
        return dataclasses.replace(
            self, p_value_adjusted=p_adjusted, correction=method, significant=significant,
            accepted=significant and self.direction_matches, comparisons=comparisons,
        )

    def with_notes(self, *notes: str) -> Verdict:
        """A copy with ``notes`` appended."""
        return dataclasses.replace(self, notes=self.notes + tuple(notes))

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display: this verdict's row of the report's table and its
        difference plot."""
        from crystallize.core.rich_html import html_of  # noqa: PLC0415

        return html_of(self)

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
