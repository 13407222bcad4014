"""The report's three plots, as self-contained SVG strings.

* :func:`samples_plot`: every sample of every condition (points; a density
  outline instead once there are more than :data:`POINT_LIMIT`), with a box of
  the quartiles and the mean with its confidence interval.
* :func:`paired_plot`: one line per replicate across the conditions (the
  design is paired: replicate ``i`` of every condition shares a seed); at
  most :data:`LINE_LIMIT` replicates, evenly spread, when there are more.
* :func:`forest_plot`: estimates with their intervals against a dashed zero
  line, with margins drawn as dotted lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crystallize.report.numbers import Summary
from crystallize.report.svg import (
    Scale,
    circle,
    document,
    group,
    line,
    nice_ticks,
    path,
    rect,
    text,
    text_width,
    tick_label,
)

__all__ = ["LINE_LIMIT", "POINT_LIMIT", "ForestRow", "SampleRow", "forest_plot", "paired_plot", "samples_plot",
           "shows_points", "spread_replicates"]

WIDTH = 440.0
LABEL = 16.0  # font size of condition labels
TICK = 14.0  # font size of tick labels
ROW = 46.0  # height of one row in horizontal plots
AXIS = 34.0  # room for the x axis under horizontal plots
RIGHT = 22.0
#: Above this many samples in one plot, conditions are drawn as density outlines, not points.
POINT_LIMIT = 2000
#: At most this many replicates get their own line in the paired plot.
LINE_LIMIT = 200
DENSITY_BINS = 60


@dataclass(frozen=True, slots=True)
class SampleRow:
    """One condition's samples (``(replicate, value)``) and their summary."""

    label: str
    points: Sequence[tuple[int, float]]
    summary: Summary


@dataclass(frozen=True, slots=True)
class ForestRow:
    """One estimate with its interval (``None`` ends: no interval), styled by ``status``
    (``accepted``, ...); ``margins`` are drawn as dotted lines across the row."""

    label: str
    estimate: float
    low: float | None
    high: float | None
    status: str = "neutral"
    detail: str = ""
    margins: tuple[float, ...] = ()


def _short(label: str, room: float, size: float) -> str:
    limit = max(int(room / (size * 0.56)), 4)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _left_margin(labels: Sequence[str]) -> float:
    widest = max((text_width(label, LABEL) for label in labels), default=0.0)
    return min(max(widest, 40.0), WIDTH * 0.32) + 16


def _x_axis(scale: Scale, ticks: Sequence[float], top: float, bottom: float,
            label: Callable[[float, Sequence[float]], str] = tick_label) -> list[str]:
    parts = [line(scale.start, bottom, scale.end, bottom, "axis")]
    for tick in ticks:
        x = scale(tick)
        parts.append(line(x, top, x, bottom, "grid"))
        parts.append(text(x, bottom + TICK + 4, label(tick, ticks), "tick", "middle"))
    return parts


def _jitter(index: int, spread: float) -> float:
    """Deterministic vertical spread (golden-ratio sequence), so reports are reproducible."""
    return ((index * 0.6180339887) % 1.0 - 0.5) * spread


def shows_points(rows: Sequence[SampleRow]) -> bool:
    """Whether :func:`samples_plot` draws one point per sample (else a density outline)."""
    return sum(len(row.points) for row in rows) <= POINT_LIMIT


def _density(row: SampleRow, scale: Scale, y: float, half: float) -> str:
    """A mirrored histogram outline (a violin) of the row's samples around ``y``."""
    counts, edges = np.histogram([v for _, v in row.points], bins=DENSITY_BINS, range=(scale.lo, scale.hi))
    top = int(counts.max()) or 1
    upper = [(scale(float(edges[0])), y)]
    for count, lo, hi in zip(counts, edges[:-1], edges[1:]):
        h = half * int(count) / top
        upper += [(scale(float(lo)), y - h), (scale(float(hi)), y - h)]
    upper.append((scale(float(edges[-1])), y))
    outline = upper + [(x, 2 * y - yy) for x, yy in reversed(upper)]
    return path(outline, "density", f"{row.label}: distribution of {len(row.points)} samples")


def samples_plot(rows: Sequence[SampleRow], metric: str) -> str:
    """Points per condition (a density outline for many samples) with a quartile box,
    the mean and its interval."""
    ticks = nice_ticks(min(min(r.summary.low, r.summary.ci[0]) for r in rows),
                       max(max(r.summary.high, r.summary.ci[1]) for r in rows))
    left = _left_margin([r.label for r in rows])
    height = len(rows) * ROW + 8 + AXIS
    scale = Scale(ticks[0], ticks[-1], left, WIDTH - RIGHT)
    parts = _x_axis(scale, ticks, 4, height - AXIS)
    points = shows_points(rows)
    for i, row in enumerate(rows):
        y = 8 + i * ROW + ROW / 2 - 4
        s = row.summary
        q1, median, q3 = s.quartiles
        parts.append(text(left - 10, y + LABEL * 0.35, _short(row.label, left - 12, LABEL), "label", "end"))
        if not points:
            parts.append(_density(row, scale, y, 13))
        parts.append(rect(scale(q1), y - 11, scale(q3) - scale(q1), 22, "box"))
        parts.append(line(scale(median), y - 11, scale(median), y + 11, "median"))
        if points:
            parts.extend(circle(scale(v), y + _jitter(j, 18), 3.6, "point", f"{row.label}, replicate {rep}: {v:.6g}")
                         for j, (rep, v) in enumerate(row.points))
        parts.append(line(scale(s.ci[0]), y + 16, scale(s.ci[1]), y + 16, "ci"))
        parts.append(circle(scale(s.mean), y + 16, 4.2, "mean",
                            f"{row.label}: mean {s.mean:.6g}, 95% CI [{s.ci[0]:.6g}, {s.ci[1]:.6g}], n={s.n}"))
    return document(WIDTH, height, parts, title=f"{metric}: samples by condition", cls="plot samples")


def spread_replicates(replicates: Sequence[int]) -> list[int]:
    """At most :data:`LINE_LIMIT` of ``replicates`` (sorted), evenly spread over them."""
    ordered = sorted(replicates)
    if len(ordered) <= LINE_LIMIT:
        return ordered
    step = len(ordered) / LINE_LIMIT
    return [ordered[int(i * step)] for i in range(LINE_LIMIT)]


def paired_plot(conditions: Sequence[str], series: Mapping[int, Sequence[float | None]], metric: str) -> str:
    """Per replicate, a line from its baseline value to its value under each treatment
    (at most :data:`LINE_LIMIT` replicates, evenly spread); bold lines join the means
    of all replicates."""
    values = [v for vals in series.values() for v in vals if v is not None]
    ticks = nice_ticks(min(values), max(values))
    left = max(text_width(tick_label(t, ticks), TICK) for t in ticks) + 12
    top, bottom, height = 10.0, 250.0, 250.0 + 2 * LABEL + 8
    y_scale = Scale(ticks[0], ticks[-1], bottom, top)
    column = (WIDTH - left - RIGHT) / max(len(conditions), 1)
    xs = [left + column * (i + 0.5) for i in range(len(conditions))]
    parts = [line(left, bottom, WIDTH - RIGHT, bottom, "axis")]
    for tick in ticks:
        y = y_scale(tick)
        parts.append(line(left, y, WIDTH - RIGHT, y, "grid"))
        parts.append(text(left - 6, y + TICK * 0.35, tick_label(tick, ticks), "tick", "end"))
    for i, (x, name) in enumerate(zip(xs, conditions)):
        dy = LABEL + 6 if i % 2 == 0 or column > text_width(name, LABEL) + 8 else 2 * LABEL + 6
        parts.append(text(x, bottom + dy, _short(name, column * 2 - 8, LABEL), "label", "middle"))
    lines = []  # each treatment is compared with the baseline, so lines start at the baseline
    for replicate in spread_replicates(list(series)):
        vals = series[replicate]
        for x, v in zip(xs, vals):
            if v is not None:
                lines.append(circle(x, y_scale(v), 2.6, "pair-point", f"replicate {replicate}: {v:.6g}"))
        if vals and vals[0] is not None:
            start = (xs[0], y_scale(vals[0]))
            lines.extend(path([start, (x, y_scale(v))], "pair", f"replicate {replicate}")
                         for x, v in zip(xs[1:], vals[1:]) if v is not None)
    parts.append(group(lines))
    means: list[tuple[float, float] | None] = []
    for x, column_values in zip(xs, zip(*series.values())):
        present = [v for v in column_values if v is not None]
        means.append((x, y_scale(sum(present) / len(present))) if present else None)
    if means and means[0] is not None:
        parts.extend(path([means[0], m], "mean-line", "mean of each condition") for m in means[1:] if m)
    parts.extend(circle(m[0], m[1], 4.2, "mean") for m in means if m)
    return document(WIDTH, height, parts, title=f"{metric}: paired replicates across conditions",
                    cls="plot paired")


def _percent_label(tick: float, ticks: Sequence[float]) -> str:
    return tick_label(tick * 100, [t * 100 for t in ticks]) + "%"


def forest_plot(rows: Sequence[ForestRow], metric: str, *, percent: bool = False) -> str:
    """Each row's estimate and interval against a dashed zero line, with its margins;
    ``percent`` reads the values as fractions and labels them in percent."""
    bounds = [b for row in rows for b in (row.low, row.high, row.estimate, *row.margins) if b is not None] + [0.0]
    ticks = nice_ticks(min(bounds), max(bounds))
    left = _left_margin([r.label for r in rows])
    height = len(rows) * ROW + 8 + AXIS
    scale = Scale(ticks[0], ticks[-1], left, WIDTH - RIGHT)
    parts = _x_axis(scale, ticks, 4, height - AXIS, _percent_label if percent else tick_label)
    parts.append(line(scale(0.0), 4, scale(0.0), height - AXIS, "zero"))
    for i, row in enumerate(rows):
        y = 8 + i * ROW + ROW / 2 + 4
        parts.append(text(left - 10, y + LABEL * 0.35, _short(row.label, left - 12, LABEL), "label", "end"))
        parts.extend(line(scale(m), y - ROW / 2 + 3, scale(m), y + ROW / 2 - 3, "margin") for m in row.margins)
        if row.low is not None and row.high is not None:
            parts.append(line(scale(row.low), y, scale(row.high), y, f"whisker {row.status}"))
            parts.extend(line(scale(end), y - 6, scale(end), y + 6, f"whisker {row.status}")
                         for end in (row.low, row.high))
        parts.append(rect(scale(row.estimate) - 5, y - 5, 10, 10, f"estimate {row.status}"))
        x = min(max(scale(row.estimate), left + 30), WIDTH - RIGHT - 30)
        value = f"{row.estimate * 100:+.3g}%" if percent else f"{row.estimate:.3g}"
        parts.append(text(x, y - 10, value + ("" if row.low is not None else " (no interval)"), "value", "middle"))
        parts.append(circle(scale(row.estimate), y, 9, "hit", f"{row.label}: {row.detail}" if row.detail
                            else row.label))
    return document(WIDTH, height, parts, title=f"{metric}: difference from baseline (treatment − baseline)",
                    cls="plot forest")
