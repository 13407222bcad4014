"""A few SVG primitives: scales, tick marks and escaped elements.

Plots are drawn as inline SVG strings with a ``viewBox`` and ``width="100%"``,
so they scale to any window and need no script or network. Colours come from
CSS classes (``axis``, ``grid``, ``point``, ...), styled by the page.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Scale", "circle", "document", "esc", "fmt", "group", "line", "nice_ticks", "path", "rect", "slug",
           "text", "text_width", "tick_label"]

#: Approximate width of one character at font size 1 (system sans-serif).
_CHAR_WIDTH = 0.56


def esc(value: object) -> str:
    """``value`` as text safe inside SVG/HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def slug(label: str) -> str:
    """``label`` as a CSS class name: ``"no effect >= min_effect"`` as ``"no-effect-min-effect"``."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def fmt(value: float) -> str:
    """A coordinate with at most two decimals."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "0"


def text_width(label: str, size: float) -> float:
    """Estimated rendered width of ``label`` at font ``size``."""
    return len(label) * size * _CHAR_WIDTH


@dataclass(frozen=True, slots=True)
class Scale:
    """A linear map from data values ``[lo, hi]`` to pixels ``[start, end]``."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo
        if span == 0:
            return (self.start + self.end) / 2
        return self.start + (value - self.lo) / span * (self.end - self.start)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (about ``count`` of them).

    Examples:
        >>> nice_ticks(0.12, 0.97)
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    value = first
    while value < hi + step * 0.999:
        ticks.append(round(value, 12) + 0.0)
        value += step
    return ticks


def tick_label(value: float, ticks: Sequence[float]) -> str:
    """``value`` with as many decimals as the spacing of ``ticks`` needs."""
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-4):
        return f"{value:.3g}"
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 0.0
    if step <= 0:
        return f"{value:.4g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    scaled = step * 10**decimals
    if abs(scaled - round(scaled)) > 1e-6:
        decimals += 1
    return f"{value:.{decimals}f}"


def _attrs(attrs: dict[str, object]) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        shown = fmt(value) if isinstance(value, float) else esc(value)
        parts.append(f'{name}="{shown}"')
    return " ".join(parts)


def line(x1: float, y1: float, x2: float, y2: float, cls: str, **attrs: object) -> str:
    """A ``<line>`` element."""
    return f"<line {_attrs({'x1': x1, 'y1': y1, 'x2': x2, 'y2': y2, 'class': cls, **attrs})}/>"


def circle(cx: float, cy: float, r: float, cls: str, title: str | None = None, **attrs: object) -> str:
    """A ``<circle>``, with a hover ``<title>`` when given."""
    tip = f"<title>{esc(title)}</title>" if title else ""
    return f"<circle {_attrs({'cx': cx, 'cy': cy, 'r': r, 'class': cls, **attrs})}>{tip}</circle>"


def rect(x: float, y: float, width: float, height: float, cls: str, **attrs: object) -> str:
    """A ``<rect>`` element (negative sizes are normalised)."""
    x, width = (x + width, -width) if width < 0 else (x, width)
    y, height = (y + height, -height) if height < 0 else (y, height)
    return f"<rect {_attrs({'x': x, 'y': y, 'width': width, 'height': height, 'class': cls, **attrs})}/>"


def path(points: Sequence[tuple[float, float]], cls: str, title: str | None = None) -> str:
    """An open polyline through ``points``."""
    d = " ".join(f"{'M' if i == 0 else 'L'}{fmt(x)},{fmt(y)}" for i, (x, y) in enumerate(points))
    tip = f"<title>{esc(title)}</title>" if title else ""
    return f'<path d="{d}" class="{esc(cls)}">{tip}</path>'


def text(x: float, y: float, content: str, cls: str = "label", anchor: str = "start", **attrs: object) -> str:
    """A ``<text>`` element with escaped content."""
    return f"<text {_attrs({'x': x, 'y': y, 'class': cls, 'text_anchor': anchor, **attrs})}>{esc(content)}</text>"


def group(children: Sequence[str], cls: str | None = None) -> str:
    """A ``<g>`` around ``children``."""
    return f"<g{f' class={chr(34)}{esc(cls)}{chr(34)}' if cls else ''}>{''.join(children)}</g>"


def document(width: float, height: float, body: Sequence[str], *, title: str, cls: str = "plot") -> str:
    """A responsive ``<svg>``: scales to its container's width, keeps its aspect ratio."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {fmt(width)} {fmt(height)}" width="100%" '
            f'preserveAspectRatio="xMidYMid meet" role="img" class="{esc(cls)}" aria-label="{esc(title)}">'
            f"<title>{esc(title)}</title>{''.join(body)}</svg>")
