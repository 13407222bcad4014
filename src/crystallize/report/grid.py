"""The report's grid section: a grid's verdicts as tables over its axes (see
:mod:`crystallize.core.grid_display`); the verdict table above still lists each one in full."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crystallize.core.display import estimate_value, format_p, interval_bounds
from crystallize.core.grid_display import GridLayout, grid_layouts
from crystallize.report.markup import badge, esc, raw, table

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict

__all__ = ["grid_section"]


def _cell(v: Verdict | None) -> object:
    if v is None:
        return None
    return raw(f"<span>{badge(v.label)}<br><span class=\"num\">{esc(estimate_value(v, 4))} "
               f"{esc(interval_bounds(v, 4))}</span><br><small>p adj. {esc(format_p(v.p_value_adjusted, v.alpha))}"
               "</small></span>")


def _grid_table(layout: GridLayout) -> str:
    headers = [f"{layout.rows_axis} ╲ {layout.columns_axis}", *layout.columns]
    rows = [[(row, "code nowrap"), *(_cell(layout.cells.get((row, column))) for column in layout.columns)]
            for row in layout.rows]
    return table(headers, rows, cls="grid stack", caption=layout.title)


def grid_section(result: Result) -> str:
    """``<section id="grid">`` with one table per grid layout, or ``""`` when the run has no grid."""
    layouts = grid_layouts(result)
    if not layouts:
        return ""
    return ('<section id="grid"><h2>Grid</h2><p class="meta">Each cell: the verdict, the difference from the '
            "baseline with its interval, and the p-value adjusted over every comparison of the family.</p>"
            f"{''.join(_grid_table(layout) for layout in layouts)}</section>")
