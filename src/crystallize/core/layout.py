"""Rich layouts that never break a number or a label across lines.

:func:`pinned` keeps a table's ``no_wrap`` columns at their full width,
:class:`Parts` breaks a line only between whole pieces, and
:class:`FirstThatFits` picks the first of several layouts (a wide table, a
narrower one, one block per row) that fits the console.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["FirstThatFits", "Parts", "pinned"]


def pinned(table: Table) -> Table:
    """``table`` with each ``no_wrap`` column at least as wide as its widest line, so that
    its measured minimum width is the width it needs without breaking a number or label."""
    for column in table.columns:
        if column.no_wrap:
            lines = [line for cell in (column.header, *column.cells)
                     for line in (cell.plain if isinstance(cell, Text) else str(cell)).split("\n")]
            column.min_width = max(map(cell_len, lines), default=1)
    return table


class Parts:
    """Pieces of text on one line, joined by ``sep``, breaking lines only between pieces
    (continuation lines start with ``indent``), so that ``seed 2024``, ``not accepted``
    or ``0.87 ± 0.01 (n=12)`` is never split."""

    def __init__(self, *parts: Text | str, sep: str = "  ·  ", indent: str = "") -> None:
        self.parts = [Text(p) if isinstance(p, str) else p for p in parts]
        self.sep = sep
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = Text()
        for part in self.parts:
            if line.plain.strip() and line.cell_len + len(self.sep) + part.cell_len > options.max_width:
                yield line
                line = Text(self.indent)
            elif line.plain.strip():
                line.append(self.sep)
            line.append_text(part)
        yield line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widths = [part.cell_len for part in self.parts]
        return Measurement(max(widths, default=0) + len(self.indent),
                           sum(widths) + len(self.sep) * max(len(widths) - 1, 0))


class FirstThatFits:
    """The first of several layouts whose narrowest rendering fits the console (the last
    one otherwise), so that a table too wide for a terminal is split or stacked instead
    of having its numbers broken across lines."""

    def __init__(self, *layouts: RenderableType) -> None:
        self.layouts = layouts

    def _choose(self, console: Console, options: ConsoleOptions) -> RenderableType:
        wide = options.update(max_width=1_000_000)
        for layout in self.layouts[:-1]:
            if Measurement.get(console, wide, layout).minimum <= options.max_width:
                return layout
        return self.layouts[-1]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._choose(console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self._choose(console, options))
