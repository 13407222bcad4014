"""Small HTML helpers; every piece of user text passes through :func:`esc`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from crystallize.core.summary import format_number
from crystallize.report.svg import esc, slug

__all__ = ["Cell", "badge", "code_json", "esc", "facts", "num", "raw", "table"]

#: A table cell: plain text (escaped), or ``(html, css class)`` for ready markup.
Cell = Any


class _Raw(str):
    """Markup that is already escaped."""

    __slots__ = ()


def raw(markup: str) -> _Raw:
    """Mark ``markup`` as safe HTML (only for strings built from escaped parts)."""
    return _Raw(markup)


def num(value: float | None, digits: int = 4) -> tuple[str, str]:
    """A right-aligned number cell."""
    return format_number(value, digits), "num"


def badge(label: str) -> _Raw:
    """A coloured verdict label."""
    return _Raw(f'<span class="badge {slug(label)}">{esc(label)}</span>')


#: Characters of a parameter cell shown before it is cut (a data table passed as a parameter
#: would otherwise fill the report; the stored definition keeps all of it).
CODE_CHARS = 2_000


def code_json(value: Any, limit: int = CODE_CHARS) -> str:
    """``value`` as compact JSON text (unknown objects by ``repr``), cut after ``limit``
    characters with a note of the full length."""
    text = json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters in all: see the stored definition)"


def _cell(value: Cell, label: str) -> str:
    data = f' data-label="{esc(label)}"' if label else ""
    if isinstance(value, tuple):
        content, cls = value
        inner = content if isinstance(content, _Raw) else esc(content)
        return f'<td class="{esc(cls)}"{data}>{inner}</td>'
    inner = value if isinstance(value, _Raw) else esc("—" if value is None else value)
    return f"<td{data}>{inner}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, cls: str = "", caption: str = "") -> str:
    """A horizontally scrollable table; cells are escaped unless marked raw.

    A table with ``cls="stack"`` turns into one card per row on narrow screens.
    """
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(f"<tr>{''.join(_cell(c, h) for c, h in zip(row, headers))}</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="scroll"><table class="{esc(cls)}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def facts(items: Iterable[tuple[str, Cell]]) -> str:
    """A definition list of label/value pairs (values escaped unless raw)."""
    parts = []
    for label, value in items:
        shown = value if isinstance(value, _Raw) else esc("—" if value is None else value)
        parts.append(f"<dt>{esc(label)}</dt><dd>{shown}</dd>")
    return f'<dl class="facts">{"".join(parts)}</dl>'
