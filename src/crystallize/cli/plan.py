"""``crystallize plan``: how many replicates an effect needs, fixed and sequential, from a stored run.

For every (hypothesis, treatment) of the run, the spread of the paired
differences (treatment minus baseline, replicate by replicate: replicates share
seeds) is measured, and :func:`crystallize.stats.sequential_plan` gives the
fixed-n paired t count and the sequential plan (the budget that reaches the
power, and the expected and median stopping counts) for the effect you name.
Both are for the claim the hypothesis makes in a sequential experiment: one
tail for a direction or a one-sided test, shifted by the margin for
``no_worse``, both tails otherwise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from crystallize.cli.console import CliError
from crystallize.core.exceptions import suggest
from crystallize.core.safe_text import plain
from crystallize.report.sequence import recorded_prior_scale

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict

__all__ = ["Plan", "notes", "plan_rows", "render_plans"]


@dataclass(frozen=True, slots=True)
class Plan:
    """The replicates one (hypothesis, treatment) needs for the effect, fixed and sequential.

    Attributes:
        effect: the effect planned for, in the metric's units, in the claimed direction.
        claim: the alternative the sequential test decides (``"greater"``, ``"less"``, ``"two-sided"``).
        sd: the standard deviation of the run's paired differences; ``pairs`` of them.
        alpha: the level, shared among the comparisons of the family under a correction.
        fixed_replicates: what a fixed-n paired t-test needs for the power.
        max_replicates: the sequential budget that reaches the power.
        expected_replicates, median_replicates: when the sequential run stops if the effect is real.
        note: why a row has no plan, or how it was approximated.
    """

    hypothesis: str
    treatment: str
    metric: str
    test: str
    claim: str | None
    effect: float
    sd: float | None
    pairs: int
    alpha: float
    power: float
    prior_scale: float
    fixed_replicates: int | None = None
    max_replicates: int | None = None
    expected_replicates: float | None = None
    median_replicates: float | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _claim(v: Verdict) -> tuple[str | None, float, str | None]:
    """(alternative, shift of the differences, why not planned) of the sequential test of ``v``."""
    if v.direction == "equal":
        return None, 0.0, "equivalence is decided by two e-processes at once; it is not planned here"
    if v.direction == "no_worse":
        if v.margin_relative or v.margin is None:
            return None, 0.0, "a relative margin is not supported in a sequential experiment"
        return ("greater" if v.higher_is_better else "less"), float(v.margin), None
    if v.alternative != "two-sided":
        return v.alternative, 0.0, None
    return {"increase": "greater", "decrease": "less"}.get(v.direction or "", "two-sided"), 0.0, None


def _alpha(result: Result, v: Verdict, alpha: float | None) -> float:
    definition = result.provenance.get("definition")
    default = definition.get("correction") if isinstance(definition, Mapping) else None
    level = alpha if alpha is not None else v.alpha
    return level / v.comparisons if (v.correction or default) else level


def _one(result: Result, v: Verdict, effect: float, power: float, alpha: float | None) -> Plan:
    from crystallize import stats  # noqa: PLC0415 - SciPy only when planning

    try:
        pairs = result.paired_samples(v.metric, v.treatment)
        diffs = [t - b for b, t in zip(pairs.baseline, pairs.treatment)]
    except KeyError:  # no run returned the metric (every run failed, say)
        diffs = []
    sd = statistics.stdev(diffs) if len(diffs) >= 2 else None
    claim, shift, why = _claim(v)
    row = Plan(v.hypothesis, v.treatment, v.metric, v.test, claim, effect, sd, len(diffs),
               _alpha(result, v, alpha), power, recorded_prior_scale(result, v.hypothesis))
    tested = abs(effect) if claim == "two-sided" else effect + shift
    if why is None and sd is None:
        why = f"only {len(diffs)} complete pair(s) in this run: the spread of the differences is unknown"
    elif why is None and not sd:
        why = "the paired differences have no spread in this run: any effect is decided at the first look"
    elif why is None and not tested > 0:
        why = (f"an effect of {effect:g} (plus the margin: {tested:g}) is not in the claimed direction"
               if shift else f"an effect of {effect:g} is not in the claimed direction ({claim})")
    if why is not None or sd is None:
        return replace(row, note=why)
    try:
        plan = stats.sequential_plan(tested, sd, alpha=row.alpha, power=power, prior_scale=row.prior_scale,
                                     alternative="two-sided" if claim == "two-sided" else "greater")
    except ValueError as exc:
        return replace(row, note=str(exc))
    approximated = "planned as the sequential t-test (the betting test's own plan is not computed)" \
        if v.test == "betting" else None
    return replace(row, fixed_replicates=plan.fixed_replicates, max_replicates=plan.max_replicates,
                    expected_replicates=plan.expected_replicates, median_replicates=plan.median_replicates,
                    note=approximated)


def plan_rows(result: Result, *, effect: float, power: float, alpha: float | None = None,
              metric: str | None = None, treatment: str | None = None) -> list[Plan]:
    """One :class:`Plan` per verdict of ``result`` (those of ``metric`` and ``treatment`` when given).

    Raises:
        CliError: no verdicts, a non-finite effect, or an unknown metric or treatment.
    """
    if not math.isfinite(effect):
        raise CliError(f"--effect must be a finite number in the metric's units, got {effect}")
    verdicts = list(result.verdicts)
    if not verdicts:
        raise CliError(f"run {result.run_id or result.name!r} has no verdicts to plan for: give the experiment "
                       "a hypothesis")
    for value, what, known in ((metric, "metric", [v.metric for v in verdicts]),
                               (treatment, "treatment", [v.treatment for v in verdicts])):
        if value is not None and value not in known:
            names = list(dict.fromkeys(known))
            raise CliError(f"no hypothesis of this run is about {what} {value!r}{suggest(value, names)}; "
                           f"its {what}s: {', '.join(names)}")
    chosen = [v for v in verdicts if metric in (None, v.metric) and treatment in (None, v.treatment)]
    return [_one(result, v, effect, power, alpha) for v in chosen]


def _count(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def render_plans(result: Result, rows: list[Plan], *, effect: float, power: float) -> Table:
    """The plans as a table, with what each column means underneath."""
    table = Table(title=f"Replicates per condition to detect {effect:g} with power {power:g} (run "
                        f"{(result.run_id or '')[:12]}, {plain(result.name)})", title_justify="left",
                  caption="fixed n: a paired t-test run once at that count. sequential: the budget "
                          "(max_replicates) that reaches the power looking every round, and when such a run "
                          "stops if the effect is real (mean and median of 2,000 simulated runs). sd: of the "
                          "paired differences observed in this run.", caption_justify="left")
    for name, justify in (("hypothesis", "left"), ("treatment", "left"), ("claim", "left"), ("sd (pairs)", "right"),
                          ("alpha", "right"), ("fixed n", "right"), ("sequential budget", "right"),
                          ("expected", "right"), ("median", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        sd = f"{row.sd:.4g} ({row.pairs})" if row.sd is not None else f"— ({row.pairs})"
        table.add_row(plain(row.hypothesis), plain(row.treatment), row.claim or "—", sd, f"{row.alpha:.4g}",
                      _count(row.fixed_replicates), _count(row.max_replicates), _count(row.expected_replicates),
                      _count(row.median_replicates))
    return table


def notes(rows: list[Plan]) -> list[Text]:
    """One line per row with a note: why it has no plan, or how it was approximated."""
    return [Text(f"note: {plain(r.hypothesis)} / {plain(r.treatment)}: {r.note}") for r in rows if r.note]
