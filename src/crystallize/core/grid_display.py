"""A grid's verdicts as tables over its axes: rows one factor, columns another.

The treatments of :meth:`Treatment.grid <crystallize.core.treatment.Treatment.grid>`
are recognised in the recorded definition (``provenance["definition"]``) by
what they set: treatments that set the same two or more keys, each named after
its values (:func:`~crystallize.core.sweep.sweep_name`), and together every
combination of those values. For each hypothesis, the first axis gives the
rows and the second the columns; with more axes there is one table per
combination of the others. Zipped sweeps and incomplete grids are not tables:
their verdicts stay in the list.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from crystallize.core.display import DASH, estimate_value, format_p, interval_bounds
from crystallize.core.safe_text import plain
from crystallize.core.sweep import format_level, sweep_name

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict

__all__ = ["GridLayout", "grid_layouts", "grid_split", "grid_table"]


#: Longest run of same-key treatments searched for a grid inside it (a whole run is always tried).
_SEARCHED = 200


@dataclass(frozen=True, slots=True)
class GridLayout:
    """One hypothesis's verdicts over two axes of a grid (at one value of each other axis).

    Attributes:
        hypothesis: the hypothesis's name.
        rows_axis: the context key whose values are the rows.
        columns_axis: the context key whose values are the columns.
        rows: the row values, as in the treatments' names.
        columns: the column values, likewise.
        fixed: the other axes' values (``opt=adam``), or ``""`` for a two-axis grid.
        cells: ``(row, column)`` to its verdict.
    """

    hypothesis: str
    rows_axis: str
    columns_axis: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    fixed: str
    cells: Mapping[tuple[str, str], Verdict]

    @property
    def title(self) -> str:
        """``accuracy (paired_t): lr (rows) × depth (columns)``, with the fixed axes after it."""
        at = f" at {self.fixed}" if self.fixed else ""
        test = next(iter(self.cells.values())).test
        return f"{self.hypothesis} ({test}): {self.rows_axis} (rows) × {self.columns_axis} (columns){at}"

    @property
    def verdicts(self) -> list[Verdict]:
        """The cells' verdicts, row by row."""
        return [self.cells[(r, c)] for r in self.rows for c in self.columns if (r, c) in self.cells]


@dataclass(frozen=True, slots=True)
class _Grid:
    axes: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    #: treatment name to its value text on each axis
    members: Mapping[str, tuple[str, ...]]


def _levels_and_members(members: Sequence[tuple[str, tuple[str, ...]]],
                        count: int) -> tuple[tuple[tuple[str, ...], ...], dict[str, tuple[str, ...]]]:
    return tuple(tuple(dict.fromkeys(texts[i] for _, texts in members)) for i in range(count)), dict(members)


def _is_table(sizes: Sequence[int], count: int) -> bool:
    # the names are unique, so as many members as combinations means every combination is there;
    # rows and columns need two values each to make a table
    return min(sizes[0], sizes[1]) >= 2 and count == math.prod(sizes)


def _complete(members: Sequence[tuple[str, tuple[str, ...]]], axes: tuple[str, ...]) -> _Grid | None:
    levels, by_name = _levels_and_members(members, len(axes))
    return _Grid(axes, levels, by_name) if _is_table([len(axis) for axis in levels], len(members)) else None


def _longest_grid(members: Sequence[tuple[str, tuple[str, ...]]], start: int) -> int | None:
    """The end of the longest complete grid among ``members[start:end]``, if any."""
    seen: list[set[str]] = [set() for _ in members[start][1]]
    best = None
    for end in range(start, len(members)):
        for axis, text in zip(seen, members[end][1]):
            axis.add(text)
        if _is_table([len(axis) for axis in seen], end - start + 1):
            best = end + 1
    return best


def _grids(treatments: Sequence[Any]) -> list[_Grid]:
    """The complete grids of two or more axes among the recorded treatments.

    A grid is a run of consecutive treatments that set the same keys, are
    named after their values, and hold every combination of them, with two or
    more values on each of the first two axes; the longest such run is taken
    from the first treatment on (so a zip or a single treatment beside a grid
    over the same keys is left out of it).
    """
    runs: list[tuple[tuple[str, ...], list[tuple[str, tuple[str, ...]]]]] = []
    for treatment in treatments:
        values = treatment.get("values") if isinstance(treatment, Mapping) else None
        if not isinstance(values, Mapping) or len(values) < 2 or treatment.get("name") != sweep_name(values):
            runs.append(((), []))
            continue
        member = (str(treatment["name"]), tuple(format_level(v) for v in values.values()))
        if runs and runs[-1][0] == tuple(values):
            runs[-1][1].append(member)
        else:
            runs.append((tuple(values), [member]))
    grids = []
    for axes, members in runs:
        whole = _complete(members, axes) if members else None
        if whole is not None or len(members) > _SEARCHED:
            grids += [whole] if whole is not None else []
            continue
        start = 0
        while start < len(members):
            end = _longest_grid(members, start)
            if end is None:
                start += 1
            else:
                grids.append(_Grid(axes, *_levels_and_members(members[start:end], len(axes))))
                start = end
    return grids


def grid_layouts(result: Result) -> list[GridLayout]:
    """Every grid table of ``result``: per hypothesis, per grid, per value of the axes after the second."""
    definition = result.provenance.get("definition") or {}
    grids = _grids(definition.get("treatments") or ())
    layouts = []
    for hypothesis in dict.fromkeys(v.hypothesis for v in result.hypotheses):
        by_treatment = {v.treatment: v for v in result.hypotheses if v.hypothesis == hypothesis}
        for grid in grids:
            tables: dict[tuple[str, ...], dict[tuple[str, str], Verdict]] = {}
            for name, texts in grid.members.items():
                if name in by_treatment:
                    tables.setdefault(texts[2:], {})[(texts[0], texts[1])] = by_treatment[name]
            for rest, cells in tables.items():
                fixed = ",".join(f"{axis}={text}" for axis, text in zip(grid.axes[2:], rest))
                layouts.append(GridLayout(hypothesis, grid.axes[0], grid.axes[1], grid.levels[0], grid.levels[1],
                                          fixed, cells))
    return layouts


def grid_split(result: Result) -> tuple[list[GridLayout], list[Verdict]]:
    """The grid tables, and the verdicts that are in none of them (in their order)."""
    layouts = grid_layouts(result)
    in_tables = {id(v) for layout in layouts for v in layout.cells.values()}
    return layouts, [v for v in result.hypotheses if id(v) not in in_tables]


def grid_table(layout: GridLayout, label: Callable[[Verdict], Text]) -> Table:
    """A Rich table of one layout (without its title): each cell the verdict's label, difference,
    interval and p adj., one to a line (a 3 x 3 grid fits 80 columns).

    Args:
        layout: the grid table to draw.
        label: the verdict's label as the summary styles it.
    """
    table = Table()  # no title: the caller prints layout.title above, wrapped to the console, not the table
    table.add_column(Text.assemble(plain(layout.rows_axis), " ╲ ", plain(layout.columns_axis)), no_wrap=True)
    for column in layout.columns:
        table.add_column(plain(column), no_wrap=True)
    for row in layout.rows:
        cells: list[Text | str] = [plain(row)]
        for column in layout.columns:
            v = layout.cells.get((row, column))
            cells.append(DASH if v is None else Text.assemble(
                label(v), f"\n{estimate_value(v)}\n{interval_bounds(v)}",
                (f"\np adj. {format_p(v.p_value_adjusted, v.alpha)}", "dim")))
        table.add_row(*cells)
    return table
