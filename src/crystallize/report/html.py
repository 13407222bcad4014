"""The HTML report: one self-contained file that opens offline.

The question and the verdicts come first, then one section per metric with
its plots (samples, paired replicates, differences from the baseline, and for
a sequential experiment each verdict's confidence sequence over the looks),
the failed runs and the provenance. Plots are inline SVG; there is no script and
nothing is fetched from the network. Every user string is escaped. Numbers are
written by :mod:`crystallize.core.display`, as in the terminal summary. A wide
experiment is summarised: the first verdicts and conditions, and a line saying
how many more there are and where to see them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crystallize.core.record import is_number
from crystallize.core.display import (
    estimand_label,
    estimate_value,
    evidence_lines,
    format_number,
    format_p,
    format_percent,
    interval_bounds,
    interval_label,
    interval_notes,
    stop_text,
)
from crystallize.report.grid import grid_section
from crystallize.report.forest import descriptive_rows, forest_caption, verdict_rows
from crystallize.report.markup import badge, esc, num, raw, table
from crystallize.report.numbers import describe
from crystallize.report.plots import (
    LINE_LIMIT,
    POINT_LIMIT,
    SampleRow,
    forest_plot,
    paired_plot,
    samples_plot,
    shows_points,
)
from crystallize.report.provenance import failures_section, provenance_section
from crystallize.report.sequence import confidence_sequence, sequence_caption, sequence_plot
from crystallize.report.style import CSS

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict

__all__ = ["MAX_PLOTTED", "MAX_VERDICT_ROWS", "render_report", "write_report"]

#: Verdicts listed in the table before a "more" line.
MAX_VERDICT_ROWS = 500
#: Conditions drawn in each metric's plots and table (the baseline and the first treatments).
MAX_PLOTTED = 30
#: Treatments named in a question before "and N more".
_NAMED = 8

_VERBS = {"increase": "increase", "decrease": "decrease", None: "change"}


def _join(names: Sequence[str]) -> str:
    quoted = [f"<strong>{esc(n)}</strong>" for n in names[:_NAMED]]
    if len(names) > _NAMED:
        return ", ".join(quoted) + f" or {len(names) - _NAMED:,} more treatments"
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _margin(v: Verdict) -> str:
    if v.margin is None:
        return "the margin"
    return f"{format_percent(v.margin).lstrip('+')} of the baseline mean" if v.margin_relative \
        else format_number(v.margin)


def _question(verdicts: Sequence[Verdict]) -> str:
    first = verdicts[0]
    treatments = _join([v.treatment for v in verdicts])
    metric = f"<strong>{esc(first.metric)}</strong>"
    if first.direction == "equal":
        text = f"Is {metric} under {treatments} equivalent to the baseline, within ±{esc(_margin(first))}?"
    elif first.direction == "no_worse":
        text = f"Is {metric} under {treatments} no worse than the baseline, by more than {esc(_margin(first))}?"
    else:
        verb = _VERBS.get(first.direction, "change")
        text = f"{'Does' if len(verdicts) == 1 else 'Do'} {treatments} {verb} {metric} compared with the baseline?"
    answers = " ".join(f"{esc(v.treatment)}: {badge(v.label)}" for v in verdicts[:_NAMED])
    if len(verdicts) > _NAMED:
        answers += f" … and {len(verdicts) - _NAMED:,} more in the table below"
    return (f"<li><span class=\"hyp\">{esc(first.hypothesis)}</span> — {text} "
            f"<small>({esc(first.test)}, α = {first.alpha:g})</small><br>{answers}</li>")


def _two_lines(value: str, label: str) -> tuple[object, str]:
    """A number cell with its label under it, small."""
    return raw(f"<span>{esc(value)}<br><small>{esc(label)}</small></span>" if label else esc(value)), "num"


def _verdict_rows(verdicts: Sequence[Verdict]) -> list[list[object]]:
    rows: list[list[object]] = []
    for v in verdicts:
        effect = f"{v.effect_size_name or 'effect'} {format_number(v.effect_size, 3)}" if v.effect_size is not None \
            else "—"
        rows.append([v.hypothesis, v.treatment, (v.test, "code nowrap"),
                     _two_lines(estimate_value(v, 4), estimand_label(v)),
                     _two_lines(interval_bounds(v, 4), interval_label(v)), (effect, "num"),
                     (format_p(v.p_value, v.alpha), "num"), (format_p(v.p_value_adjusted, v.alpha), "num"),
                     raw(f"<span>{badge(v.label)}"
                         + "".join(f'<small class="evidence">{esc(line)}</small>' for line in evidence_lines(v))
                         + "</span>")])
    return rows


def _adjustment(verdicts: Sequence[Verdict]) -> str:
    """How p adj. was computed, family by family."""
    families: dict[str, list[Verdict]] = {}
    for v in verdicts:
        families.setdefault(v.family, []).append(v)
    parts = []
    for family, members in families.items():
        methods = sorted({v.correction for v in members if v.correction})
        how = f"{', '.join(methods)} over {members[0].comparisons} comparisons" if methods else "no correction"
        parts.append(f"{how} (family {family!r})" if len(families) > 1 else how)
    return "p adj.: " + "; ".join(parts) + "; without a correction it equals p."


def _verdicts_section(result: Result) -> str:
    if not result.hypotheses:
        return ('<section id="verdicts"><h2>Question</h2><p>This experiment states no hypothesis; '
                "the samples of each condition follow.</p></section>")
    verdicts = result.hypotheses
    groups: dict[str, list[Verdict]] = {}
    for v in verdicts:
        groups.setdefault(v.hypothesis, []).append(v)
    shown = verdicts[:MAX_VERDICT_ROWS]
    more = (f'<p class="meta">… {len(verdicts) - len(shown):,} more verdicts not listed: result.hypotheses '
            f"(<code>Result.load(run_id).hypotheses</code>) has them all.</p>" if len(verdicts) > len(shown) else "")
    notes = [f"{v.hypothesis} / {v.treatment}: {n}" for v in verdicts for n in v.notes]
    note_html = f'<ul class="notes">{"".join(f"<li>{esc(n)}</li>" for n in notes[:30])}</ul>' if notes else ""
    explained = ["Difference = treatment − baseline: each test's own estimate (named under it when it is not the "
                 "mean difference; relative differences in percent).", *interval_notes(verdicts),
                 _adjustment(verdicts)]
    headers = ["hypothesis", "treatment", "test", "difference", "interval", "effect", "p", "p adj.", "verdict"]
    return (f'<section id="verdicts"><h2>Question</h2><ul class="questions">'
            f"{''.join(_question(g) for g in groups.values())}</ul><h2>Verdicts</h2>"
            f"{table(headers, _verdict_rows(shown), cls='verdicts stack')}{more}"
            f'<ul class="meta legend">{"".join(f"<li>{esc(line)}</li>" for line in explained)}</ul>'
            f"{note_html}</section>")


def _values(result: Result, metric: str) -> dict[str, dict[int, float]] | None:
    """``{condition: {replicate: value}}`` of a numeric metric; ``None`` if it is not numeric."""
    out: dict[str, dict[int, float]] = {}
    for record in result.records:
        if record.ok and metric in record.metrics:
            value = record.metrics[metric]
            if not is_number(value):
                return None
            number = float(value)
            if math.isfinite(number):
                out.setdefault(record.condition, {})[record.replicate] = number
    return out


def _samples_figure(rows: Sequence[SampleRow], metric: str) -> str:
    if shows_points(rows):
        what = "each point is one replicate"
    else:
        what = (f"the outline is the distribution of each condition's samples (points are drawn up to "
                f"{POINT_LIMIT:,} samples)")
    return _figure(f"<strong>Samples</strong> of {esc(metric)}: {what}; the box spans the quartiles (line: median); "
                   "the dark dot and bar are the mean and its 95% interval.", samples_plot(rows, metric))


def _paired_figure(conditions: Sequence[str], values: dict[str, dict[int, float]], metric: str) -> str | None:
    replicates = sorted({r for c in conditions for r in values[c]})
    series = {r: [values[c].get(r) for c in conditions] for r in replicates}
    if len(conditions) < 2 or not any(sum(v is not None for v in vals) > 1 for vals in series.values()):
        return None
    shown = (f" ({LINE_LIMIT} of the {len(series):,} replicates, evenly spread; the means use all)"
             if len(series) > LINE_LIMIT else "")
    return _figure(f"<strong>Paired replicates</strong>: each grey line joins a replicate's baseline value to the "
                   f"same replicate (same seed) under a treatment{shown}; bold lines join the means.",
                   paired_plot(conditions, series, metric))


def _forest_figures(result: Result, metric: str, values: dict[str, dict[int, float]],
                    conditions: Sequence[str]) -> list[str]:
    verdicts = [v for v in result.hypotheses if v.metric == metric and v.treatment in conditions]
    if not verdicts:
        rows = descriptive_rows(values, result.conditions[0], [c for c in conditions if c != result.conditions[0]])
        if not rows:
            return []
        return [_figure(f"<strong>Difference from baseline</strong> (treatment − baseline) of the mean "
                        f"{esc(metric)}: descriptive, not a test (no hypothesis names this metric); 95% t intervals, "
                        "paired over shared replicates.", forest_plot(rows, metric))]
    figures = []
    for relative in (False, True):
        own = [v for v in verdicts if (v.estimand == "relative_difference") == relative]
        if own:
            rows = verdict_rows(own)
            plot = forest_plot(rows, metric, percent=relative) if rows else "<p>No verdict here has an estimate.</p>"
            figures.append(_figure(forest_caption(own, metric, relative=relative), plot))
    return figures


def _sequence_figures(result: Result, metric: str, conditions: Sequence[str]) -> list[str]:
    """One confidence-sequence plot per sequential verdict of ``metric``."""
    figures = []
    for v in result.hypotheses:
        if v.metric == metric and v.treatment in conditions and v.sequential is not None:
            cs = confidence_sequence(result, v)
            if cs is not None:
                figures.append(_figure(sequence_caption(cs, v), sequence_plot(cs, metric)))
    return figures


def _metric_section(result: Result, metric: str, index: int) -> str:
    values = _values(result, metric)
    anchor = f"metric-{index}"
    if values is None:
        return (f'<section id="{anchor}"><h2>{esc(metric)}</h2><p>Not numeric: kept in the records and exports, '
                "not plotted.</p></section>")
    present = [c for c in result.conditions if values.get(c)]
    if not present:
        return f'<section id="{anchor}"><h2>{esc(metric)}</h2><p>No successful run produced it.</p></section>'
    conditions = present[:MAX_PLOTTED]
    rows, stats = [], []
    for c in conditions:
        summary = describe(list(values[c].values()))
        assert summary is not None
        rows.append(SampleRow(c, sorted(values[c].items()), summary))
        stats.append([c, (str(summary.n), "num"), num(summary.mean), num(summary.sd, 3),
                      (f"[{format_number(summary.ci[0])}, {format_number(summary.ci[1])}]", "num"),
                      num(summary.quartiles[1])])
    figures = [_samples_figure(rows, metric), _paired_figure(conditions, values, metric),
               *_forest_figures(result, metric, values, conditions), *_sequence_figures(result, metric, conditions)]
    more = (f'<p class="meta">The first {len(conditions)} of {len(present):,} conditions are drawn and listed; '
            "the others are in the exports (<code>crystallize export</code>, result.to_dataframe()).</p>"
            if len(present) > len(conditions) else "")
    headers = ["condition", "n", "mean", "sd", "95% CI of mean", "median"]
    return (f'<section id="{anchor}" class="metric"><h2>{esc(metric)}</h2>{more}<div class="figures">'
            f'{"".join(f for f in figures if f)}</div><h3>Summary of {esc(metric)}</h3>{table(headers, stats)}'
            "</section>")


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{caption}</figcaption>{svg}</figure>"


def _header(result: Result) -> str:
    prov = result.provenance
    stopped = stop_text(prov.get("sequential"), result.hypotheses)
    bits = [f"{len(result.records)} runs", f"{len(result.errors)} failed",
            *([] if stopped else [f"replicates {prov.get('replicates', '?')}"]), f"seed {prov.get('master_seed', '?')}"]
    if result.run_id:
        bits.insert(0, f"run {result.run_id}")
    if stopped:
        bits.append(stopped)
    warn = '<p class="warning">Interrupted: this is a partial result.</p>' if result.interrupted else ""
    shown = result.conditions[:MAX_PLOTTED]
    conditions = ", ".join(shown) + (f", … ({len(result.conditions):,} in all)"
                                     if len(result.conditions) > len(shown) else "")
    return (f"<header><h1>{esc(result.name)}</h1><p class=\"meta\">{esc(' · '.join(bits))}<br>"
            f"conditions: {esc(conditions)}</p>{warn}</header>")


def render_report(result: Result) -> str:
    """The report of ``result`` as one HTML document (no external resources)."""
    metrics = "".join(_metric_section(result, m, i) for i, m in enumerate(result.metric_names))
    title = esc(f"{result.name} — crystallize report")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{title}</title><style>{CSS}</style></head><body><main>"
        f"{_header(result)}{_verdicts_section(result)}{grid_section(result)}{metrics}{failures_section(result)}"
        f"{provenance_section(result)}<footer>Made by crystallize. Self-contained: open it anywhere, offline."
        "</footer></main></body></html>\n"
    )


def write_report(result: Result, path: str | Path) -> Path:
    """Write :func:`render_report` to ``path`` (folders are created); return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(result), encoding="utf-8")
    return target
