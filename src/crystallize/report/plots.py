"""The report's three plots, as self-contained SVG strings.

* :func:`samples_plot`: every sample of every condition (points; a density
  outline instead once there are more than :data:`POINT_LIMIT`), with a box of
  the quartiles and the mean with its confidence interval.
* :func:`paired_plot`: one panel per treatment, with a line per replicate from
  its baseline value to its value under the treatment (the design is paired:
  replicate ``i`` of every condition shares a seed); at most
  :data:`LINE_LIMIT` replicates, evenly spread, when there are more.
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
    esc,
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
    (``accepted``, ...); ``margins`` are drawn as dotted lines across the row; rows of one
    ``group`` (a hypothesis, when a plot shows several) sit under its name."""

    label: str
    estimate: float
    low: float | None
    high: float | None
    status: str = "neutral"
    detail: str = ""
    margins: tuple[float, ...] = ()
    group: str = ""


def _short(label: str, room: float, size: float) -> str:
    limit = max(int(room / (size * 0.62)), 4)  # wider than the average glyph: never cut by the edge
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


#: Paired-plot panels side by side (one per treatment), and the gap between them.
PANELS_PER_ROW = 2
PANEL_GAP = 20.0


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _panel(name: str, pairs: Sequence[tuple[int, float | None, float | None]], means: tuple[float | None, float | None],
           x0: float, panel_width: float, y_scale: Scale, ticks: Sequence[float]) -> str:
    """One treatment's panel: each replicate's line from its baseline value to its value
    under the treatment, the means in bold, the treatment named above."""
    top, bottom = y_scale.end, y_scale.start
    xb, xt = x0 + panel_width * 0.25, x0 + panel_width * 0.75
    parts = [line(x0, bottom, x0 + panel_width, bottom, "axis")]
    parts += [line(x0, y_scale(t), x0 + panel_width, y_scale(t), "grid") for t in ticks]
    parts.append(text(x0 + panel_width / 2, top - 8, _short(name, panel_width, LABEL), "label", "middle"))
    for x, label in ((xb, "baseline"), (xt, "treatment")):
        parts.append(text(x, bottom + TICK + 6, _short(label, panel_width / 2 - 4, TICK), "tick", "middle"))
    for replicate, b, t in pairs:
        if b is not None and t is not None:
            parts.append(path([(xb, y_scale(b)), (xt, y_scale(t))], "pair", f"replicate {replicate}"))
        parts += [circle(x, y_scale(v), 2.6, "pair-point", f"{who}, replicate {replicate}: {v:.6g}")
                  for x, v, who in ((xb, b, "baseline"), (xt, t, name)) if v is not None]
    mb, mt = means
    if mb is not None and mt is not None:
        parts.append(path([(xb, y_scale(mb)), (xt, y_scale(mt))], "mean-line", f"{name}: means"))
    parts += [circle(x, y_scale(m), 4.2, "mean", f"mean {m:.6g}") for x, m in ((xb, mb), (xt, mt)) if m is not None]
    return group([f"<title>{esc(name)}: each replicate, baseline to treatment</title>", *parts], "panel")


def paired_plot(conditions: Sequence[str], series: Mapping[int, Sequence[float | None]], metric: str) -> str:
    """One panel per treatment, each comparing it with the baseline: per replicate, a line
    from its baseline value to its value under the treatment (at most
    :data:`LINE_LIMIT` replicates, evenly spread), and in bold the means of all
    replicates. Panels share one value axis and sit :data:`PANELS_PER_ROW` to a row, so
    no line crosses another treatment's panel."""
    values = [v for vals in series.values() for v in vals if v is not None]
    ticks = nice_ticks(min(values), max(values))
    left = max(text_width(tick_label(t, ticks), TICK) for t in ticks) + 12
    treatments = list(conditions[1:])
    per_row = min(PANELS_PER_ROW, max(len(treatments), 1))
    panel_width = (WIDTH - left - RIGHT - PANEL_GAP * (per_row - 1)) / per_row
    plot_height = 220.0 if len(treatments) <= per_row else 170.0
    title, foot = LABEL + 14, TICK + 14
    row_height = title + plot_height + foot
    rows = -(-len(treatments) // per_row)
    shown = spread_replicates(list(series))
    columns = list(zip(*series.values())) if series else []
    parts = []
    for i, name in enumerate(treatments, start=1):
        row, col = divmod(i - 1, per_row)
        top = row * row_height + title
        y_scale = Scale(ticks[0], ticks[-1], top + plot_height, top)
        if col == 0:
            parts += [text(left - 6, y_scale(t) + TICK * 0.35, tick_label(t, ticks), "tick", "end") for t in ticks]
        pairs = [(r, series[r][0], series[r][i]) for r in shown]
        means = (_mean(columns[0]), _mean(columns[i])) if columns else (None, None)
        parts.append(_panel(name, pairs, means, left + col * (panel_width + PANEL_GAP), panel_width, y_scale, ticks))
    return document(WIDTH, rows * row_height, parts, title=f"{metric}: paired replicates, each treatment against "
                    "the baseline", cls="plot paired")


def _percent_label(tick: float, ticks: Sequence[float]) -> str:
    return tick_label(tick * 100, [t * 100 for t in ticks]) + "%"


#: Room above a difference plot's rows for the margins' labels.
MARGIN_LABEL = 20.0
#: Share of the data's span added on each side of a difference plot's axis.
PAD = 0.08


def _padded_ticks(bounds: Sequence[float]) -> list[float]:
    """Ticks over ``bounds`` padded on both sides, so no estimate, interval end, margin or
    zero sits on the plot's edge."""
    lo, hi = min(bounds), max(bounds)
    pad = (hi - lo) * PAD or abs(hi) * PAD or 1.0
    return nice_ticks(lo - pad, hi + pad)


#: Height of a group's name above its rows.
GROUP = 24.0


def _row_tops(rows: Sequence[ForestRow], top: float) -> tuple[list[float], list[tuple[str, float]], float]:
    """The top of each row, each group's name with its top, and the bottom of the last row."""
    tops, groups, y, current = [], [], top, None
    for row in rows:
        if row.group and row.group != current:
            groups.append((row.group, y))
            y += GROUP
            current = row.group
        tops.append(y)
        y += ROW
    return tops, groups, y


def _margin_lines(rows: Sequence[ForestRow], tops: Sequence[float], scale: Scale, top: float) -> list[str]:
    """Each margin as a dotted line over the rows it applies to, labelled above the rows."""
    parts = []
    for margin in dict.fromkeys(m for row in rows for m in row.margins):
        own = [i for i, row in enumerate(rows) if margin in row.margins]
        x = scale(margin)
        parts.append(line(x, tops[own[0]] + 2, x, tops[own[-1]] + ROW + 2, "margin"))
        parts.append(text(x, top - 6, "margin", "tick margin-label", "middle"))
    return parts


def forest_plot(rows: Sequence[ForestRow], metric: str, *, percent: bool = False) -> str:
    """Each row's estimate and interval against a dashed zero line, with its margins
    (dotted, labelled); the axis is padded beyond every value drawn. ``percent`` reads
    the values as fractions and labels them in percent."""
    bounds = [b for row in rows for b in (row.low, row.high, row.estimate, *row.margins) if b is not None] + [0.0]
    ticks = _padded_ticks(bounds)
    left = _left_margin([r.label for r in rows])
    top = 4 + (MARGIN_LABEL if any(row.margins for row in rows) else 0.0)
    tops, groups, bottom = _row_tops(rows, top)
    height = bottom + 4 + AXIS
    scale = Scale(ticks[0], ticks[-1], left, WIDTH - RIGHT)
    parts = _x_axis(scale, ticks, top, height - AXIS, _percent_label if percent else tick_label)
    for name, y in groups:
        parts.append(line(4, y, WIDTH - RIGHT, y, "grid"))
        parts.append(text(6, y + 17, _short(name, WIDTH - 12, TICK), "group-label", "start"))
    parts.append(line(scale(0.0), top, scale(0.0), height - AXIS, "zero"))
    parts += _margin_lines(rows, tops, scale, top)
    for row, row_top in zip(rows, tops):
        y = row_top + 4 + ROW / 2
        parts.append(text(left - 10, y + LABEL * 0.35, _short(row.label, left - 12, LABEL), "label", "end"))
        if row.low is not None and row.high is not None:
            parts.append(line(scale(row.low), y, scale(row.high), y, f"whisker {row.status}"))
            parts.extend(line(scale(end), y - 6, scale(end), y + 6, f"whisker {row.status}")
                         for end in (row.low, row.high))
        parts.append(rect(scale(row.estimate) - 5, y - 5, 10, 10, f"estimate {row.status}"))
        value = f"{row.estimate * 100:+.3g}%" if percent else f"{row.estimate:.3g}"
        value += "" if row.low is not None else " (no interval)"
        half = text_width(value, TICK) / 2 + 2
        x = min(max(scale(row.estimate), left + half), WIDTH - half)
        parts.append(text(x, y - 10, value, "value", "middle"))
        parts.append(circle(scale(row.estimate), y, 9, "hit", f"{row.label}: {row.detail}" if row.detail
                            else row.label))
    return document(WIDTH, height, parts, title=f"{metric}: difference from baseline (treatment − baseline)",
                    cls="plot forest")
