"""What differs between two experiment runs, and how their metrics moved."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from crystallize.core.safe_text import plain, printable
from crystallize.core.display import better_direction, format_number, format_p, format_percent, mean_sd
from crystallize.core.layout import FirstThatFits, pinned
from crystallize.core.provenance import version_changes
from crystallize.report.numbers import numeric

if TYPE_CHECKING:
    from crystallize.core.result import Result

__all__ = ["SECTIONS", "Difference", "MetricMove", "VerdictChange", "condition_means", "differences", "metric_moves",
           "render_comparison", "verdict_changes"]

_MISSING = "—"


@dataclass(frozen=True, slots=True)
class Difference:
    """One provenance entry that differs: its section, dotted key and both values."""

    section: str
    key: str
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class MetricMove:
    """The mean of one metric in one condition, in run A and run B.

    ``better`` is the way the hypotheses on the metric want it to go (``+1`` up,
    ``-1`` down), ``None`` when none states a way or they disagree; ``sd_a`` and
    ``n_a`` describe run A's samples, so that a percentage of a mean that is
    indistinguishable from 0 is not shown.
    """

    condition: str
    metric: str
    mean_a: float | None
    mean_b: float | None
    better: int | None = None
    sd_a: float | None = None
    n_a: int = 0

    @property
    def change(self) -> float | None:
        """``mean_b - mean_a``."""
        return None if self.mean_a is None or self.mean_b is None else self.mean_b - self.mean_a

    @property
    def relative(self) -> float | None:
        """The change as a fraction of ``|mean_a|``; ``None`` when ``mean_a`` is within about
        two standard errors of 0 (where a percentage means nothing)."""
        change = self.change
        if change is None or not self.mean_a:
            return None
        if self.sd_a is not None and self.n_a >= 2 and abs(self.mean_a) <= 2 * self.sd_a / math.sqrt(self.n_a):
            return None
        return change / abs(self.mean_a)

    @property
    def style(self) -> str:
        """``"green"`` for a change the hypotheses want, ``"red"`` against it, ``""`` otherwise."""
        change = self.change
        if not change or self.better is None:
            return ""
        return "green" if (change > 0) == (self.better > 0) else "red"


@dataclass(frozen=True, slots=True)
class VerdictChange:
    """One verdict in both runs, with the alpha each was decided at."""

    hypothesis: str
    treatment: str
    verdict_a: str
    verdict_b: str
    p_a: float | None
    p_b: float | None
    alpha_a: float | None = None
    alpha_b: float | None = None


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", out)
    else:
        out[prefix] = _MISSING if value is None else str(value)


def _section(key: str) -> str:
    if key.startswith(("environment.", "git.", "backend")):
        return "environment"
    if "seed" in key:
        return "seeds"
    if key.endswith((".code", ".step_hash")) or key == "pipeline_signature":
        return "code"
    return "definition"


def _named(items: Any) -> Any:
    """Lists of named entries (steps, treatments, hypotheses) keyed by name, so reordering reads clearly."""
    if isinstance(items, list) and all(isinstance(i, Mapping) and "name" in i for i in items):
        return {str(i["name"]): {k: v for k, v in i.items() if k != "name"} for i in items}
    return items


def differences(a: Result, b: Result) -> list[Difference]:
    """Every provenance entry whose value differs, section by section (:data:`SECTIONS` order)."""
    flat: list[dict[str, str]] = []
    for result in (a, b):
        prov = dict(result.provenance)
        prov.pop("seeds", None)  # derived from the master seed
        definition = dict(prov.get("definition") or {})
        for key in ("treatments", "hypotheses"):
            if key in definition:
                definition[key] = _named(definition[key])
        prov["definition"] = definition
        out: dict[str, str] = {}
        _flatten(prov, "", out)
        out.pop("definition.seed", None)  # same as master_seed
        flat.append(out)
    keys = list(dict.fromkeys([*flat[0], *flat[1]]))
    found = [Difference(_section(k), k, flat[0].get(k, _MISSING), flat[1].get(k, _MISSING))
             for k in keys if flat[0].get(k, _MISSING) != flat[1].get(k, _MISSING)]
    return sorted(found, key=lambda d: SECTIONS.index(d.section))


def condition_means(result: Result) -> dict[tuple[str, str], tuple[float, float | None, int]]:
    """``{(condition, metric): (mean, sd, n)}`` of every numeric metric (others are left out)."""
    out = {}
    for condition in result.conditions:
        for metric, values in result.metrics.get(condition, {}).items():
            numbers = numeric(values)
            if numbers:
                mean, sd = mean_sd(numbers)
                out[(condition, metric)] = (mean, sd, len(numbers))
    return out


def _better(a: Result, b: Result) -> dict[str, int | None]:
    """The way each metric should go by the hypotheses of either run (``None`` if they disagree)."""
    ways: dict[str, set[int | None]] = {}
    for verdict in (*a.hypotheses, *b.hypotheses):
        ways.setdefault(verdict.metric, set()).add(better_direction(verdict))
    return {metric: next(iter(found)) if len(found) == 1 else None for metric, found in ways.items()}


def metric_moves(a: Result, b: Result) -> list[MetricMove]:
    """Per condition and metric (in either run): mean in A, mean in B, the way it should go."""
    means_a, means_b = condition_means(a), condition_means(b)
    better = _better(a, b)
    conditions = list(dict.fromkeys([*a.conditions, *b.conditions]))
    metrics = list(dict.fromkeys([*a.metric_names, *b.metric_names]))
    moves = []
    for c in conditions:
        for m in metrics:
            if (c, m) in means_a or (c, m) in means_b:
                mean_a, sd_a, n_a = means_a.get((c, m), (None, None, 0))
                moves.append(MetricMove(c, m, mean_a, means_b.get((c, m), (None,))[0], better.get(m), sd_a, n_a))
    return moves


def verdict_changes(a: Result, b: Result) -> list[VerdictChange]:
    """Every (hypothesis, treatment) of either run, with both verdicts."""
    va = {(v.hypothesis, v.treatment): v for v in a.hypotheses}
    vb = {(v.hypothesis, v.treatment): v for v in b.hypotheses}
    out = []
    for key in dict.fromkeys([*va, *vb]):
        x, y = va.get(key), vb.get(key)
        out.append(VerdictChange(key[0], key[1], x.label if x else _MISSING, y.label if y else _MISSING,
                                 x.p_value_adjusted if x else None, y.p_value_adjusted if y else None,
                                 x.alpha if x else None, y.alpha if y else None))
    return out


def _short(value: str, limit: int = 400) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


#: The sections of a difference, in the order they are shown.
SECTIONS = ("definition", "code", "seeds", "environment")
_DIFFERS = "What differs"


def _differences_table(diffs: list[Difference]) -> Table:
    """Section and full dotted key never cut; long values fold within their columns."""
    table = Table(title=_DIFFERS, title_justify="left")
    table.add_column("section", no_wrap=True)
    table.add_column("key", no_wrap=True)
    for name in ("A", "B"):
        table.add_column(name, overflow="fold", ratio=1)
    for d in diffs:
        table.add_row(d.section, plain(d.key), plain(_short(d.a)), plain(_short(d.b)))
    return pinned(table)


def _differences_stacked(diffs: list[Difference]) -> Group:
    """One block per difference, for a terminal too narrow for the table's keys."""
    lines: list[RenderableType] = [Text(_DIFFERS)]
    for d in diffs:
        lines.append(Text.assemble(plain(d.key, "bold"), f" ({d.section})"))
        for side, value in (("A", d.a), ("B", d.b)):
            lines.append(Text.assemble(f"  {side} ", plain(_short(value)), overflow="fold"))
    return Group(*lines)


def render_comparison(a: Result, b: Result) -> RenderableType:
    """Rich tables: what differs, how the metrics moved, how the verdicts changed."""
    ida, idb = (a.run_id or "A")[:12], (b.run_id or "B")[:12]
    parts: list[RenderableType] = [Text.assemble(("Comparing ", "bold"), (printable(f"A {ida} ({a.name})"), "cyan"),
                                                 " with ", (printable(f"B {idb} ({b.name})"), "magenta"))]
    diffs = differences(a, b)
    if diffs:
        parts.append(FirstThatFits(_differences_table(diffs), _differences_stacked(diffs)))
    else:
        parts.append(Text("Definition, code fingerprints, seeds and environment are identical."))
    versions = version_changes(a.provenance.get("environment"), b.provenance.get("environment"))
    if versions:  # every imported distribution is recorded: say plainly which ones moved
        parts.append(Text("Package versions, A -> B: " + "; ".join(map(str, versions)), style="yellow"))
    moves = Table(title="How the metrics moved (means; green: the way the hypotheses want)", title_justify="left")
    for name, justify in (("condition", "left"), ("metric", "left"), ("mean A", "right"), ("mean B", "right"),
                          ("change", "right"), ("change %", "right")):
        moves.add_column(name, justify=justify, no_wrap=justify == "right", overflow="fold")  # type: ignore[arg-type]
    for m in metric_moves(a, b):
        rel = format_percent(m.relative, 3) if m.relative is not None else _MISSING
        moves.add_row(plain(m.condition), plain(m.metric), format_number(m.mean_a), format_number(m.mean_b),
                      Text(format_number(m.change) if m.change is None else f"{m.change:+.4g}", style=m.style), rel)
    parts.append(pinned(moves))
    changes = verdict_changes(a, b)
    if changes:
        verdicts = Table(title="Verdicts", title_justify="left")
        for name in ("hypothesis", "treatment", "A", "B", "p adj. A", "p adj. B"):
            verdicts.add_column(name, no_wrap=name not in ("hypothesis", "treatment"), overflow="fold")
        for v in changes:
            flag = "" if v.verdict_a == v.verdict_b else "bold yellow"
            verdicts.add_row(plain(v.hypothesis), plain(v.treatment), v.verdict_a, Text(v.verdict_b, style=flag),
                             format_p(v.p_a, v.alpha_a), format_p(v.p_b, v.alpha_b))
        parts.append(pinned(verdicts))
    return Group(*parts)
