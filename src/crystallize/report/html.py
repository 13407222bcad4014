"""The HTML report: one self-contained file that opens offline.

The question and the verdicts come first, then one section per metric with
its plots (samples, paired replicates, differences from the baseline), the
failed runs and the provenance. Plots are inline SVG; there is no script and
nothing is fetched from the network. Every user string is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crystallize.core.summary import format_number
from crystallize.report.markup import badge, esc, num, raw, table
from crystallize.report.numbers import describe, mean_difference, numeric
from crystallize.report.plots import ForestRow, SampleRow, forest_plot, paired_plot, samples_plot
from crystallize.report.provenance import failures_section, provenance_section
from crystallize.report.style import CSS

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict

__all__ = ["render_report", "write_report"]

_VERBS = {"increase": "increase", "decrease": "decrease", None: "change"}


def _join(names: Sequence[str]) -> str:
    quoted = [f"<strong>{esc(n)}</strong>" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _question(verdicts: Sequence[Verdict]) -> str:
    first = verdicts[0]
    treatments = _join([v.treatment for v in verdicts])
    metric = f"<strong>{esc(first.metric)}</strong>"
    margin = format_number(first.margin) if first.margin is not None else "the margin"
    if first.direction == "equal":
        text = f"Is {metric} under {treatments} equivalent to the baseline, within ±{esc(margin)}?"
    elif first.direction == "no_worse":
        text = f"Is {metric} under {treatments} no worse than the baseline, by more than {esc(margin)}?"
    else:
        verb = _VERBS.get(first.direction, "change")
        text = f"{'Does' if len(verdicts) == 1 else 'Do'} {treatments} {verb} {metric} compared with the baseline?"
    answers = " ".join(f"{esc(v.treatment)}: {badge(v.label)}" for v in verdicts)
    return (f"<li><span class=\"hyp\">{esc(first.hypothesis)}</span> — {text} "
            f"<small>({esc(first.test)}, α = {first.alpha:g})</small><br>{answers}</li>")


def _verdict_rows(result: Result) -> list[list[object]]:
    rows: list[list[object]] = []
    for v in result.hypotheses:
        rel = v.relative_difference
        diff = format_number(v.mean_difference) + (f" ({rel:+.1%})" if rel is not None else "")
        effect = f"{v.effect_size_name or 'effect'} {format_number(v.effect_size, 3)}" if v.effect_size is not None \
            else "—"
        ci = f"[{format_number(v.ci[0])}, {format_number(v.ci[1])}]" if v.ci else "—"
        rows.append([v.hypothesis, v.treatment, (v.test, "code nowrap"), (diff, "num"), (effect, "num"), (ci, "num"),
                     num(v.p_value), num(v.p_value_adjusted), raw(badge(v.label))])
    return rows


def _verdicts_section(result: Result) -> str:
    if not result.hypotheses:
        return ('<section id="verdicts"><h2>Question</h2><p>This experiment states no hypothesis; '
                "the samples of each condition follow.</p></section>")
    groups: dict[str, list[Verdict]] = {}
    for v in result.hypotheses:
        groups.setdefault(v.hypothesis, []).append(v)
    corrections = {v.correction for v in result.hypotheses if v.correction}
    adjusted = (f"p adj. is adjusted for {len(result.hypotheses)} comparisons ({esc(', '.join(sorted(corrections)))})."
                if corrections else "p adj. equals p (no correction applied).")
    notes = [f"{v.hypothesis} / {v.treatment}: {n}" for v in result.hypotheses for n in v.notes]
    note_html = f'<ul class="notes">{"".join(f"<li>{esc(n)}</li>" for n in notes[:30])}</ul>' if notes else ""
    headers = ["hypothesis", "treatment", "test", "difference", "effect", "interval", "p", "p adj.", "verdict"]
    return (f'<section id="verdicts"><h2>Question</h2><ul class="questions">'
            f"{''.join(_question(g) for g in groups.values())}</ul><h2>Verdicts</h2>"
            f"{table(headers, _verdict_rows(result), cls='verdicts stack')}"
            f'<p class="meta">Difference = treatment − baseline; interval at level 1 − α. {adjusted}</p>'
            f"{note_html}</section>")


def _values(result: Result, metric: str) -> dict[str, dict[int, float]] | None:
    """``{condition: {replicate: value}}`` of a numeric metric; ``None`` if it is not numeric."""
    out: dict[str, dict[int, float]] = {}
    for record in result.records:
        if record.ok and metric in record.metrics:
            value = numeric([record.metrics[metric]])
            if value is None:
                return None
            if value:
                out.setdefault(record.condition, {})[record.replicate] = value[0]
    return out


def _status(result: Result, metric: str, treatment: str) -> str:
    for v in result.hypotheses:
        if v.metric == metric and v.treatment == treatment:
            return v.label.replace(" ", "-")
    return "neutral"


def _metric_section(result: Result, metric: str, index: int) -> str:
    values = _values(result, metric)
    anchor = f"metric-{index}"
    if values is None:
        return (f'<section id="{anchor}"><h2>{esc(metric)}</h2><p>Not numeric: kept in the records and exports, '
                "not plotted.</p></section>")
    conditions = [c for c in result.conditions if values.get(c)]
    if not conditions:
        return f'<section id="{anchor}"><h2>{esc(metric)}</h2><p>No successful run produced it.</p></section>'
    rows, stats = [], []
    for c in conditions:
        summary = describe(list(values[c].values()))
        assert summary is not None
        rows.append(SampleRow(c, sorted(values[c].items()), summary))
        stats.append([c, (str(summary.n), "num"), num(summary.mean), num(summary.sd, 3),
                      (f"[{format_number(summary.ci[0])}, {format_number(summary.ci[1])}]", "num"),
                      num(summary.quartiles[1])])
    figures = [_figure(f"<strong>Samples</strong> of {esc(metric)}: each point is one replicate; the box spans "
                       "the quartiles (line: median); the dark dot and bar are the mean and its 95% interval.",
                       samples_plot(rows, metric))]
    replicates = sorted({r for c in conditions for r in values[c]})
    series = {r: [values[c].get(r) for c in conditions] for r in replicates}
    if len(conditions) > 1 and any(sum(v is not None for v in vals) > 1 for vals in series.values()):
        figures.append(_figure(f"<strong>Paired replicates</strong>: each grey line joins a replicate's baseline value "
                               f"to the same replicate (same seed) under a treatment; bold lines join the means.",
                               paired_plot(conditions, series, metric)))
    base = values.get(result.conditions[0], {})
    forest = []
    for c in conditions:
        if c == result.conditions[0] or not base:
            continue
        diff = mean_difference(base, values[c])
        if diff is not None:
            kind = f"paired over {diff.n} replicates" if diff.paired else "Welch interval"
            forest.append(ForestRow(c, diff.estimate, diff.ci[0], diff.ci[1], _status(result, metric, c), kind))
    if forest:
        figures.append(_figure(f"<strong>Difference from baseline</strong> (treatment − baseline) of the mean "
                               f"{esc(metric)}, with 95% intervals; colour follows the verdict.",
                               forest_plot(forest, metric)))
    headers = ["condition", "n", "mean", "sd", "95% CI of mean", "median"]
    return (f'<section id="{anchor}" class="metric"><h2>{esc(metric)}</h2><div class="figures">{"".join(figures)}'
            f"</div><h3>Summary of {esc(metric)}</h3>{table(headers, stats)}</section>")


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{caption}</figcaption>{svg}</figure>"


def _header(result: Result) -> str:
    prov = result.provenance
    bits = [f"{len(result.records)} runs", f"{len(result.errors)} failed",
            f"replicates {prov.get('replicates', '?')}", f"seed {prov.get('master_seed', '?')}"]
    if result.run_id:
        bits.insert(0, f"run {result.run_id}")
    warn = '<p class="warning">Interrupted: this is a partial result.</p>' if result.interrupted else ""
    conditions = ", ".join(result.conditions)
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
        f"{_header(result)}{_verdicts_section(result)}{metrics}{failures_section(result)}"
        f"{provenance_section(result)}<footer>Made by crystallize. Self-contained: open it anywhere, offline."
        "</footer></main></body></html>\n"
    )


def write_report(result: Result, path: str | Path) -> Path:
    """Write :func:`render_report` to ``path`` (folders are created); return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(result), encoding="utf-8")
    return target
