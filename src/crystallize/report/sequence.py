"""The confidence-sequence plot of a sequential verdict: the interval narrowing look by look.

For each sequential verdict the report recomputes, from the result's records
alone, the running confidence sequence of the mean paired difference
(:func:`crystallize.stats.t_confidence_sequence` over the differences in
replicate order) and reads it at the looks the experiment made
(``result.looks``). The plot draws it as a band over the replicate counts, with
the running mean difference, a dashed zero line, the margins of ``"equal"`` and
``"no_worse"`` claims, the ``min_effect`` line and the futility bound, and marks
the look where the verdict was decided.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from crystallize.core.display import format_e_value, format_number, level_text, margin_bounds
from crystallize.report.svg import (
    Scale,
    circle,
    document,
    esc,
    line,
    nice_ticks,
    path,
    slug,
    text,
    text_width,
    tick_label,
)

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict

__all__ = ["ConfidenceSequence", "confidence_sequence", "recorded_prior_scale", "sequence_caption", "sequence_plot"]

WIDTH = 440.0
TOP, BOTTOM = 12.0, 236.0  # the plotting area, in pixels
TICK = 14.0
RIGHT = 22.0
_PRIOR = re.compile(r"prior_scale=([-+0-9.eE]+)")
_DEFAULT_PRIOR = 0.5


@dataclass(frozen=True, slots=True)
class ConfidenceSequence:
    """One verdict's running confidence sequence at each look (``inf`` ends: unbounded)."""

    treatment: str
    hypothesis: str
    level: float
    replicates: tuple[int, ...]  # replicates per condition at each look
    pairs: tuple[int, ...]  # valid pairs among them
    estimate: tuple[float, ...]  # mean paired difference
    low: tuple[float, ...]
    high: tuple[float, ...]
    log_e: tuple[float | None, ...]  # ln E of the claim at the look, as recorded
    decided_at: int | None
    status: str  # the verdict's label
    margins: tuple[float, ...] = ()
    min_effect: tuple[float, ...] = ()  # the effect the futility rule rules out, as bounds of the difference
    futility: tuple[tuple[float, ...], ...] = ()  # per look, the futility CS's end(s) facing min_effect
    futility_level: float | None = None


def _definition(result: Result, name: str) -> Mapping[str, Any]:
    for hypothesis in (result.provenance.get("definition") or {}).get("hypotheses") or ():
        if isinstance(hypothesis, Mapping) and hypothesis.get("name") == name:
            return hypothesis
    return {}


def _prior_scale(definition: Mapping[str, Any]) -> float:
    params = definition.get("test_params")
    if isinstance(params, Mapping) and isinstance(params.get("prior_scale"), (int, float)):
        return float(params["prior_scale"])
    found = _PRIOR.search(str(definition.get("test_repr", "")))  # stores written before test_params
    return float(found.group(1)) if found else _DEFAULT_PRIOR


def recorded_prior_scale(result: Result, hypothesis: str) -> float:
    """The prior scale the run's recorded test of ``hypothesis`` used (0.5, the sequential
    t-test's default, when none is recorded)."""
    return _prior_scale(_definition(result, hypothesis))


def _min_effect_bounds(v: Verdict, min_effect: float | None) -> tuple[float, ...]:
    if min_effect is None:
        return ()
    return {"increase": (min_effect,), "decrease": (-min_effect,)}.get(str(v.direction), (-min_effect, min_effect))


def _recorded_log_e(result: Result, v: Verdict) -> dict[int, float]:
    out = {}
    for look in result.looks:
        for row in look.get("verdicts", ()):
            if (row.get("hypothesis"), row.get("treatment")) == (v.hypothesis, v.treatment):
                out[int(look["replicates"])] = float(row["log_e"])
    return out


def confidence_sequence(result: Result, v: Verdict) -> ConfidenceSequence | None:
    """``v``'s confidence sequence at each look, from ``result``'s records; ``None`` when
    ``v`` is not a sequential t verdict with at least one look of two pairs, or when the
    recomputed interval at the last look is not the verdict's own."""
    from crystallize import stats  # noqa: PLC0415 - SciPy loads only for a report that needs it

    definition = _definition(result, v.hypothesis)
    if v.sequential is None or definition.get("test", v.test) != "sequential_t" or v.status != "ok" \
            or not result.looks or v.metric not in result.metric_names or v.treatment not in result.conditions[1:]:
        return None
    prior = _prior_scale(definition)
    samples = result.paired_samples(v.metric, v.treatment)
    order = np.argsort(samples.replicates, kind="stable")
    replicates = [samples.replicates[i] for i in order]
    d = np.asarray([samples.treatment[i] - samples.baseline[i] for i in order], dtype=float)
    low, high = stats.t_confidence_sequence(d, alpha=v.alpha, prior_scale=prior)
    alpha_futility = float(definition.get("alpha_futility") or 0.10)
    min_effect = _min_effect_bounds(v, definition.get("min_effect"))
    futile = stats.t_confidence_sequence(d, alpha=alpha_futility, prior_scale=prior) if min_effect else None
    logged = _recorded_log_e(result, v)
    counts = [n for n in (int(look["replicates"]) for look in result.looks) if bisect.bisect_left(replicates, n) >= 2]
    pairs = [bisect.bisect_left(replicates, n) for n in counts]
    if not counts:
        return None
    last = pairs[-1] - 1
    if v.ci is not None and not all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
                                    for a, b in zip(v.ci, (low[last], high[last]))):
        return None  # the records do not give this verdict's interval: draw nothing rather than something else
    return ConfidenceSequence(
        treatment=v.treatment, hypothesis=v.hypothesis, level=1 - v.alpha, replicates=tuple(counts),
        pairs=tuple(pairs), estimate=tuple(float(np.mean(d[:k])) for k in pairs),
        low=tuple(float(low[k - 1]) for k in pairs), high=tuple(float(high[k - 1]) for k in pairs),
        log_e=tuple(logged.get(n) for n in counts), decided_at=v.decided_at, status=v.label,
        margins=margin_bounds(v), min_effect=min_effect,
        futility=() if futile is None else tuple(
            tuple(float(futile[0 if m < 0 else 1][k - 1]) for m in min_effect) for k in pairs),
        futility_level=None if futile is None else 1 - alpha_futility)


def _y_range(cs: ConfidenceSequence) -> tuple[float, float]:
    """The values the plot shows: the last interval, every estimate, zero and the reference
    lines, and as much of the earlier (wider) intervals as stays readable."""
    ends = [b for b in (cs.low[-1], cs.high[-1], *(f for ends in cs.futility[-1:] for f in ends)) if math.isfinite(b)]
    core = [*cs.estimate, 0.0, *cs.margins, *cs.min_effect, *ends]
    lo, hi = min(core), max(core)
    span = (hi - lo) or abs(hi) or 1.0
    finite = [b for b in (*cs.low, *cs.high) if math.isfinite(b)]
    return max(min([lo, *finite]), lo - 1.5 * span), min(max([hi, *finite]), hi + 1.5 * span)


def _clipped(value: float, ticks: Sequence[float]) -> float:
    return min(max(value, ticks[0]), ticks[-1])


def _tip(cs: ConfidenceSequence, i: int) -> str:
    level = level_text(cs.level)
    bounds = f"[{format_number(cs.low[i], 4)}, {format_number(cs.high[i], 4)}]".replace("inf", "∞")
    evidence = f", E = {format_e_value(cs.log_e[i])}" if cs.log_e[i] is not None else ""
    return (f"{cs.replicates[i]} replicates ({cs.pairs[i]} pairs): difference {format_number(cs.estimate[i], 4)}, "
            f"{level} CS {bounds}{evidence}")


def sequence_plot(cs: ConfidenceSequence, metric: str) -> str:
    """The band of the confidence sequence over the looks, the running estimate, the
    zero, margin, ``min_effect`` and futility lines, and the decision marked."""
    y_ticks = nice_ticks(*_y_range(cs))
    left = max(text_width(tick_label(t, y_ticks), TICK) for t in y_ticks) + 14
    x_ticks = nice_ticks(min(cs.replicates), max(cs.replicates))
    x = Scale(x_ticks[0], x_ticks[-1], left, WIDTH - RIGHT)
    y = Scale(y_ticks[0], y_ticks[-1], BOTTOM, TOP)
    height = BOTTOM + 2 * TICK + 20
    parts = [line(left, BOTTOM, WIDTH - RIGHT, BOTTOM, "axis")]
    for tick in y_ticks:
        parts.append(line(left, y(tick), WIDTH - RIGHT, y(tick), "grid"))
        parts.append(text(left - 6, y(tick) + TICK * 0.35, tick_label(tick, y_ticks), "tick", "end"))
    for tick in (t for t in x_ticks if float(t).is_integer()):
        parts.append(text(x(tick), BOTTOM + TICK + 4, f"{tick:.0f}", "tick", "middle"))
    parts.append(text((left + WIDTH - RIGHT) / 2, BOTTOM + 2 * TICK + 12, "replicates per condition", "tick",
                      "middle"))
    xs = [x(n) for n in cs.replicates]
    upper = [(px, y(_clipped(h, y_ticks))) for px, h in zip(xs, cs.high)]
    lower = [(px, y(_clipped(lo, y_ticks))) for px, lo in zip(xs, cs.low)]
    title = f"{level_text(cs.level)} confidence sequence"
    if len(xs) > 1:
        parts.append(path(upper + lower[::-1], "band", title))
        parts.extend(path(edge, "band-edge") for edge in (upper, lower))
    else:
        parts.append(line(xs[0], upper[0][1], xs[0], lower[0][1], "band-edge"))
    parts.append(line(left, y(0.0), WIDTH - RIGHT, y(0.0), "zero"))
    for value, cls, name in [*((m, "margin", "margin") for m in cs.margins),
                             *((m, "min-effect", "min_effect") for m in cs.min_effect)]:
        parts.append(line(left, y(value), WIDTH - RIGHT, y(value), cls))
        parts.append(text(WIDTH - RIGHT - 4, y(value) - 5, name, "value", "end"))
    for k in range(len(cs.futility[0]) if cs.futility else 0):
        parts.append(path([(px, y(_clipped(ends[k], y_ticks))) for px, ends in zip(xs, cs.futility)], "futility",
                          f"futility bound: {level_text(cs.futility_level)} confidence sequence"))
    points = [(px, y(e)) for px, e in zip(xs, cs.estimate)]
    if len(points) > 1:
        parts.append(path(points, "cs-estimate", "mean paired difference"))
    parts.extend(circle(px, py, 3.4, "cs-point", _tip(cs, i)) for i, (px, py) in enumerate(points))
    if cs.decided_at in cs.replicates:
        i = cs.replicates.index(cs.decided_at)
        px, status = xs[i], slug(cs.status)
        parts.append(line(px, TOP, px, BOTTOM, f"decision {status}"))
        parts.append(circle(px, points[i][1], 6.5, f"decision-point {status}", f"decided at {cs.decided_at}: "
                            f"{cs.status}; {_tip(cs, i)}"))
        right_half = px > (left + WIDTH - RIGHT) / 2
        parts.append(text(px - 5 if right_half else px + 5, TOP + TICK, f"decided at {cs.decided_at}", "value",
                          "end" if right_half else "start"))
    return document(WIDTH, height, parts, title=f"{metric}: {title} of {cs.treatment} − baseline ({cs.hypothesis})",
                    cls="plot sequence")


def sequence_caption(cs: ConfidenceSequence, v: Verdict) -> str:
    """What the plot shows, its level, and what a confidence sequence is."""
    level = level_text(cs.level)
    lines = ["dashed: zero"]
    if cs.margins:
        lines.append(f"dotted: the margin{'s' if len(cs.margins) > 1 else ''}")
    if cs.min_effect:
        lines.append(f"dash-dot: min_effect ({format_number(abs(cs.min_effect[-1]))})")
    if cs.futility:
        lines.append(f"thin dashes: the futility bound ({level_text(cs.futility_level)} sequence)")
    lines.append(f"vertical line: the decision ({cs.decided_at} replicates, {esc(cs.status)})"
                 if cs.decided_at in cs.replicates else f"not decided ({esc(cs.status)})")
    clipped = any(not (math.isfinite(lo) and math.isfinite(hi)) for lo, hi in zip(cs.low, cs.high))
    edge = " Where the band meets the plot's edge it is wider than drawn." if clipped else ""
    return (f"<strong>Confidence sequence</strong> of {esc(v.metric)}, {esc(v.treatment)} − baseline "
            f"(<em>{esc(v.hypothesis)}</em>): the band is the {level} confidence sequence of the mean paired "
            f"difference at each of the {len(cs.replicates)} looks, recomputed from the records; the line is the "
            f"mean difference; {'; '.join(lines)}. A confidence sequence covers the true difference at every look at "
            f"once with probability at least {level}, so it stays valid however often the experiment looked and "
            "whenever it stopped. The decision follows the claim's anytime p-value (adjusted over the family), so "
            f"it need not fall where the band leaves zero.{edge}")
