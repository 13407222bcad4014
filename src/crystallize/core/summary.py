"""The summary a person reads at a glance: samples by condition, then verdicts.

Numbers are written by :mod:`crystallize.core.display` (p-values never rounded
across alpha, each interval with its level). A wide experiment is summarised:
the first conditions, metrics and verdicts, then a line saying how many more
there are and where to see them all. Numbers and labels never break across
lines.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from crystallize.core.display import (
    DASH,
    difference_text,
    estimand_label,
    estimate_value,
    evidence_lines,
    format_number,
    format_p,
    interval_bounds,
    interval_label,
    interval_notes,
    interval_text,
    mean_sd,
    stop_text,
)
from crystallize.core.grid_display import grid_split, grid_table
from crystallize.core.layout import FirstThatFits, Parts, pinned
from crystallize.core.record import is_number
from crystallize.core.safe_text import plain, printable

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict

__all__ = ["MAX_CONDITIONS", "MAX_METRICS", "MAX_VERDICTS", "format_number", "render_summary", "summary_text"]

#: Conditions, metric columns and verdicts shown before "... more" lines.
MAX_CONDITIONS = 20
MAX_METRICS = 8
MAX_VERDICTS = 30

_STYLE = {"accepted": "bold green", "not accepted": "bold", "opposite direction": "bold red",
          "insufficient data": "yellow", "skipped": "dim"}
_ARROWS = {"increase": "↑", "decrease": "↓", "equal": "≈", "no_worse": "≥"}
_SIDES = {"greater": "↑", "less": "↓"}
_EFFECT_NAMES = {"hedges_g": "g", "cohens_dz": "d_z", "rank_biserial": "r_rb"}


def _finite(values: Sequence[Any]) -> list[float]:
    out = []
    for v in values:
        if is_number(v):
            try:
                number = float(v)
            except OverflowError:  # an integer beyond the float range
                continue
            if math.isfinite(number):
                out.append(number)
    return out


def _mean_sd(values: Sequence[Any]) -> str:
    numbers = _finite(values)
    if not numbers:
        shown = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
        return DASH if not shown or all(is_number(v) for v in shown) else f"{len(shown)} values"
    mean, sd = mean_sd(numbers)
    if sd is None:
        return f"{format_number(mean)} (n=1)"
    return f"{format_number(mean)} ± {format_number(sd, 3)} (n={len(numbers)})"


def _more(count: int, what: str, where: str) -> Text:
    return Text(f"… {count:,} more {what} not shown: {where}", style="dim")


def _samples_grid(result: Result, conditions: Sequence[str], metrics: Sequence[str], title: str) -> Table:
    failed = Counter(e.condition for e in result.errors.values())
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("condition", style="bold", overflow="fold")
    for metric in metrics:
        table.add_column(plain(metric), justify="right", no_wrap=True)
    table.add_column("failed", justify="right", no_wrap=True)
    for condition in conditions:
        values = result.metrics.get(condition, {})
        table.add_row(plain(condition), *(_mean_sd(values.get(m, [])) for m in metrics),
                      Text(str(failed[condition]), style="red" if failed[condition] else "dim"))
    return pinned(table)


def _samples_stacked(result: Result, conditions: Sequence[str], metrics: Sequence[str]) -> Group:
    lines: list[RenderableType] = [Text("Samples: mean ± sd")]
    for condition in conditions:
        values = result.metrics.get(condition, {})
        lines.append(plain(condition, "bold"))
        lines.extend(Parts(Text("  ") + plain(metric), _mean_sd(values.get(metric, [])), sep=" ", indent="    ")
                     for metric in metrics)
    return Group(*lines)


def _span(start: int, count: int, total: int) -> str:
    return f"metric {start + 1} of {total}" if count == 1 else f"metrics {start + 1}-{start + count} of {total}"


def _samples(result: Result) -> list[RenderableType]:
    names = result.metric_names
    metrics, conditions = names[:MAX_METRICS], result.conditions[:MAX_CONDITIONS]
    layouts: list[RenderableType] = [_samples_grid(result, conditions, metrics, "Samples: mean ± sd")]
    for size in range(len(metrics) - 1, 0, -1):  # fewer metrics per table
        chunks = [metrics[i:i + size] for i in range(0, len(metrics), size)]
        layouts.append(Group(*(
            _samples_grid(result, conditions, chunk, f"Samples: mean ± sd ({_span(i * size, len(chunk), len(metrics))})")
            for i, chunk in enumerate(chunks))))
    layouts.append(_samples_stacked(result, conditions, metrics))
    parts: list[RenderableType] = [FirstThatFits(*layouts)]
    if len(result.conditions) > len(conditions):
        parts.append(_more(len(result.conditions) - len(conditions), "conditions",
                           "result.metrics, result.to_dataframe() or the HTML report (`crystallize report RUN`)"))
    if len(names) > len(metrics):
        parts.append(_more(len(names) - len(metrics), f"metrics ({', '.join(printable(n) for n in names[len(metrics):][:5])}, ...)",
                           "result.metrics or result.to_dataframe()"))
    return parts


def _arrow(v: Verdict) -> str:
    return _ARROWS.get(str(v.direction)) or _SIDES.get(v.alternative, "≠")


def _effect(v: Verdict) -> str:
    if v.effect_size is None:
        return DASH
    return f"{_EFFECT_NAMES.get(str(v.effect_size_name), v.effect_size_name)} {format_number(v.effect_size, 3)}"


def _two_lines(first: str, second: str) -> Text:
    """A number with its label under it, dimmed."""
    return Text.assemble(first, ("\n" + second, "dim")) if second else Text(first)


def _label(v: Verdict) -> Text:
    return Text(v.label, style=_STYLE.get(v.label, ""))


def _label_cell(v: Verdict) -> Text:
    """The label, with a sequential verdict's evidence and decision point under it, dimmed."""
    lines = evidence_lines(v)
    return Text.assemble(_label(v), ("\n" + "\n".join(lines), "dim")) if lines else _label(v)


_TITLE = "Verdicts (difference = treatment − baseline: each test's own estimate)"


def _verdict_table(verdicts: Sequence[Verdict]) -> Table:
    table = Table(title=_TITLE, title_justify="left")
    table.add_column("hypothesis", overflow="fold")
    table.add_column("treatment", overflow="fold")
    for name in ("difference", "interval", "effect", "p", "p adj."):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for v in verdicts:
        table.add_row(Text.assemble(plain(v.hypothesis), f" {_arrow(v)}\n", plain(v.test, "dim")),
                      plain(v.treatment), _two_lines(estimate_value(v), estimand_label(v)),
                      _two_lines(interval_bounds(v), interval_label(v)), _effect(v),
                      format_p(v.p_value, v.alpha), format_p(v.p_value_adjusted, v.alpha), _label_cell(v))
    return pinned(table)


def _verdict_table_compact(verdicts: Sequence[Verdict]) -> Table:
    """The verdict table in fewer columns: the interval under the difference, the
    adjusted p-value under the raw one."""
    table = Table(title=_TITLE, title_justify="left")
    table.add_column("hypothesis", overflow="fold")
    table.add_column("treatment", overflow="fold")
    for name in ("difference\ninterval", "effect", "p\np adj."):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for v in verdicts:
        table.add_row(Text.assemble(plain(v.hypothesis), f" {_arrow(v)}\n", plain(v.test, "dim")),
                      plain(v.treatment), f"{difference_text(v)}\n{interval_text(v)}", _effect(v),
                      f"{format_p(v.p_value, v.alpha)}\n{format_p(v.p_value_adjusted, v.alpha)}", _label_cell(v))
    return pinned(table)


def _verdicts_stacked(verdicts: Sequence[Verdict]) -> Group:
    """One block per verdict: its heading and label, then each number on a line of its own."""
    lines: list[RenderableType] = [Text(_TITLE)]
    for v in verdicts:
        lines.append(Parts(Text.assemble(plain(v.hypothesis, "bold"), f" {_arrow(v)} ", plain(v.test, "dim")),
                            plain(v.treatment), _label(v), sep=" · ", indent="  "))
        fields = [("evidence", ", ".join(evidence_lines(v)))] if evidence_lines(v) else []
        fields += [("difference", difference_text(v)), ("interval", interval_text(v)), ("effect", _effect(v)),
                   ("p", format_p(v.p_value, v.alpha)), ("p adj.", format_p(v.p_value_adjusted, v.alpha))]
        lines.extend(Parts(f"  {field}", value, sep=" ", indent="    ") for field, value in fields)
    return Group(*lines)


def _verdicts(result: Result) -> list[RenderableType]:
    verdicts = result.hypotheses
    grids, listed = grid_split(result)  # a grid's verdicts as tables over its axes, the others listed
    shown = listed[:MAX_VERDICTS]
    parts: list[RenderableType] = [FirstThatFits(Group(plain(g.title), pinned(grid_table(g, _label_cell))),
                                                 _verdicts_stacked(g.verdicts))
                                   for g in grids]
    parts += [FirstThatFits(_verdict_table(shown), _verdict_table_compact(shown), _verdicts_stacked(shown))] \
        if shown else []
    if len(listed) > len(shown):
        labels = Counter(v.label for v in listed[len(shown):])
        counts = ", ".join(f"{n:,} {label}" for label, n in labels.most_common())
        parts.append(_more(len(listed) - len(shown), f"verdicts ({counts})",
                           "result.hypotheses or the HTML report (`crystallize report RUN`)"))
    explained = interval_notes(verdicts)
    if explained:
        parts.append(Text("\n".join(explained), style="dim"))
    notes = [printable(f"{v.hypothesis} / {v.treatment}: {n}") for v in verdicts for n in v.notes]
    if notes:
        more = f"\n… {len(notes) - 12:,} more notes: each verdict's notes (result.hypotheses)" if len(notes) > 12 else ""
        parts.append(Text("\n".join(f"note: {n}" for n in notes[:12]) + more, style="dim"))
    return parts


def _failure_groups(result: Result) -> list[str]:
    """One line per kind of failure: condition, step, type and message, with the replicates."""
    groups: dict[tuple[str, str | None, str, str], list[int]] = {}
    for error in result.errors.values():
        groups.setdefault((error.condition, error.step, error.type, error.message), []).append(error.replicate)
    lines = []
    for (condition, step, kind, message), replicates in groups.items():
        where = f" in step {step!r}" if step else ""
        reps = ", ".join(map(str, replicates[:8])) + (", ..." if len(replicates) > 8 else "")
        runs = f"replicate {reps}" if len(replicates) == 1 else f"{len(replicates)} runs, replicates {reps}"
        lines.append(printable(f"{condition} ({runs}){where}: {kind}: {message}"))
    return lines


def render_summary(result: Result) -> RenderableType:
    """A Rich renderable of ``result``; computes nothing that is not on it."""
    prov = result.provenance
    stopped = stop_text(prov.get("sequential"), result.hypotheses)
    pieces = [Text.assemble(("Experiment ", "bold"), (printable(result.name or "unnamed"), "bold cyan")),
              Text(f"{len(result.records)} runs, {len(result.errors)} failed"),
              *([] if stopped else [Text(f"replicates {prov.get('replicates', '?')}")]),
              Text(f"seed {prov.get('master_seed', '?')}")]
    if prov.get("resumed_runs"):
        pieces.append(Text(f"resumed: {prov['resumed_runs']} runs loaded from the store"))
    if result.interrupted:
        pieces.append(Text("INTERRUPTED: partial result", style="bold yellow"))
    header: list[RenderableType] = [Parts(*pieces, indent="  ")]
    if stopped:
        header.append(Text(stopped))
    parts: list[RenderableType] = [*header, *_samples(result)]
    if result.hypotheses:
        parts.extend(_verdicts(result))
    if result.errors:
        groups = _failure_groups(result)
        lines = [f"  {line}" for line in groups[:6]]
        if len(groups) > 6:
            lines.append(f"  ... {len(groups) - 6} more kinds of failure (result.errors, `crystallize show RUN "
                         "--errors`, or the HTML report)")
        parts.append(Text(f"Failures ({len(result.errors)} runs):\n" + "\n".join(lines), style="red"))
    return Group(*parts)


def summary_text(result: Result, *, color: bool | None = None, width: int | None = None) -> str:
    """The summary as a string; colour only for a terminal without ``NO_COLOR``."""
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    buffer = io.StringIO()
    if width is None:  # a terminal's own width; wide enough for the verdict table otherwise
        width = shutil.get_terminal_size((140, 40)).columns if sys.stdout.isatty() else 140
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width,
                      color_system="standard" if color else None)
    console.print(render_summary(result))
    return "\n".join(line.rstrip(" ") for line in buffer.getvalue().rstrip("\n").split("\n"))
