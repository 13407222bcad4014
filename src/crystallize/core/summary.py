"""The summary a person reads at a glance: samples by condition, then verdicts."""

from __future__ import annotations

import io
import math
import os
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from crystallize.core.record import is_number
from crystallize.core.safe_text import plain, printable

if TYPE_CHECKING:
    from crystallize.core.result import Result

__all__ = ["format_number", "render_summary", "summary_text"]

_STYLE = {"accepted": "bold green", "not accepted": "bold", "opposite direction": "bold red",
          "insufficient data": "yellow", "skipped": "dim"}


def format_number(value: float | None, digits: int = 4) -> str:
    """Compact number formatting: ``None`` as a dash, tiny p-values in scientific notation."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.2e}"
    return f"{value:.{digits}g}"


def _mean_sd(values: Sequence[Any]) -> str:
    numbers = [float(v) for v in values if is_number(v)]
    if not numbers:
        return "—" if not values else f"{len(values)} values"
    mean = sum(numbers) / len(numbers)
    if len(numbers) < 2:
        return f"{format_number(mean)} (n=1)"
    sd = math.sqrt(sum((x - mean) ** 2 for x in numbers) / (len(numbers) - 1))
    return f"{format_number(mean)} ± {format_number(sd, 3)} (n={len(numbers)})"


def _samples_table(result: Result) -> Table:
    metrics = result.metric_names
    table = Table(title="Samples: mean ± sd", title_justify="left", show_lines=False)
    table.add_column("condition", style="bold")
    for metric in metrics:
        table.add_column(plain(metric), justify="right")
    table.add_column("failed", justify="right")
    for condition in result.conditions:
        values = result.metrics.get(condition, {})
        failed = sum(1 for e in result.errors.values() if e.condition == condition)
        table.add_row(plain(condition), *(_mean_sd(values.get(m, [])) for m in metrics),
                      Text(str(failed), style="red" if failed else "dim"))
    return table


def _verdict_table(result: Result) -> Table:
    table = Table(title="Verdicts (difference = treatment − baseline)", title_justify="left")
    for name, justify in (("hypothesis", "left"), ("treatment", "left"), ("difference", "right"),
                          ("interval", "right"), ("effect", "right"), ("p", "right"), ("p adj.", "right"),
                          ("verdict", "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for v in result.hypotheses:
        rel = v.relative_difference
        shown = rel is not None and abs(rel) <= 10  # a near-zero baseline makes percentages meaningless
        diff = format_number(v.mean_difference, 3) + (f" ({rel:+.1%})" if shown else "")
        effect = f"{_EFFECT_NAMES.get(str(v.effect_size_name), v.effect_size_name)} {format_number(v.effect_size, 3)}" \
            if v.effect_size is not None else "—"
        ci = f"[{format_number(v.ci[0], 3)}, {format_number(v.ci[1], 3)}]" if v.ci else "—"
        arrow = {"increase": "↑", "decrease": "↓", "equal": "≈", "no_worse": "≥"}.get(str(v.direction), "≠")
        table.add_row(Text.assemble(f"{printable(v.hypothesis)} {arrow}\n", (printable(v.test), "dim")),
                      plain(v.treatment), diff, ci, effect,
                      format_number(v.p_value, 3), format_number(v.p_value_adjusted, 3),
                      Text(v.label, style=_STYLE.get(v.label, "")))
    return table


_EFFECT_NAMES = {"hedges_g": "g", "cohens_dz": "d_z", "rank_biserial": "r_rb"}


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
    header = Text.assemble(
        ("Experiment ", "bold"), (printable(result.name or "unnamed"), "bold cyan"),
        f"  ·  {len(result.records)} runs, {len(result.errors)} failed  ·  "
        f"replicates {prov.get('replicates', '?')}  ·  seed {prov.get('master_seed', '?')}",
    )
    if prov.get("resumed_runs"):
        header.append(f"  ·  resumed: {prov['resumed_runs']} runs loaded from the store")
    if result.interrupted:
        header.append("  ·  INTERRUPTED: partial result", style="bold yellow")
    parts: list[RenderableType] = [header, _samples_table(result)]
    if result.hypotheses:
        parts.append(_verdict_table(result))
        notes = [printable(f"{v.hypothesis} / {v.treatment}: {n}") for v in result.hypotheses for n in v.notes]
        if notes:
            parts.append(Text("\n".join(f"note: {n}" for n in notes[:12]), style="dim"))
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
    return buffer.getvalue().rstrip("\n")
