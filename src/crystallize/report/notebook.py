"""Results, verdicts and stored runs in a Jupyter notebook: compact, self-contained HTML.

What a notebook cell shows is a piece of the HTML report, built from the same
parts (the verdict table with its coloured labels and legend, the difference
plots, the stylesheet), so it shows the same numbers. The fragment carries its
own stylesheet, scoped to its ``div.crystallize`` so it neither leaks into the
notebook nor takes the notebook's table styles; it has no script and fetches
nothing. Every user string is escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crystallize.core.display import stop_text
from crystallize.core.result import Result
from crystallize.core.verdict import Verdict
from crystallize.report.forest import forest_caption, verdict_rows
from crystallize.report.html import figure, forest_figures, metric_values, verdicts_table
from crystallize.report.markup import badge, esc, facts, raw
from crystallize.report.plots import forest_plot
from crystallize.report.provenance import timestamp
from crystallize.report.style import scoped_css

if TYPE_CHECKING:
    from crystallize.store.reader import ExperimentRunInfo

__all__ = ["MAX_NOTEBOOK_METRICS", "MAX_NOTEBOOK_VERDICTS", "notebook_html", "result_html", "run_info_html",
           "verdict_html"]

#: Verdicts listed in a notebook cell before a "more" line.
MAX_NOTEBOOK_VERDICTS = 20
#: Metrics whose difference plot a notebook cell draws.
MAX_NOTEBOOK_METRICS = 4

_SCOPE = "div.crystallize"
#: Below this output width the verdict table turns into one card per verdict (a container
#: query: a notebook's output is narrower than its window).
_NARROW = "@container (max-width: 760px)"
#: A cell, not a page: smaller type, tighter spacing, plots side by side.
_CELL_CSS = f"""
{_SCOPE} {{ font-size: 14px; line-height: 1.45; padding: 10px 12px; border: 1px solid var(--line);
  border-radius: 10px; max-width: 1100px; container-type: inline-size; }}
{_SCOPE} .head {{ margin: 0 0 8px; }}
{_SCOPE} .head strong {{ font-size: 1.05rem; }}
{_SCOPE} .meta {{ margin: 0 0 8px; }}
{_SCOPE} ul.legend {{ font-size: 0.82rem; margin: 6px 0; }}
{_SCOPE} .notes {{ font-size: 0.82rem; margin: 4px 0; }}
{_SCOPE} .figures {{ margin-top: 10px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 340px), 1fr)); }}
{_SCOPE} th, {_SCOPE} td {{ padding: 5px 8px; }}
{_SCOPE} table tbody tr:nth-child(n) {{ background: var(--bg); }}
{_SCOPE} figure {{ padding: 8px; }}
{_SCOPE} figcaption {{ font-size: 0.8rem; }}
{_SCOPE} svg.plot {{ max-width: 440px; }}
"""


def _cell(inner: str, kind: str) -> str:
    return f'<div class="crystallize {kind}"><style>{scoped_css(_SCOPE, _NARROW)}{_CELL_CSS}</style>{inner}</div>'


def _head(title: str, bits: list[str]) -> str:
    return f'<p class="head"><strong>{esc(title)}</strong> <span class="meta">{esc(" · ".join(bits))}</span></p>'


def result_html(result: Result) -> str:
    """A result in a cell: what ran, the verdict table and each tested metric's difference plot."""
    bits = [f"{len(result.records)} runs", f"{len(result.errors)} failed"]
    stopped = stop_text(result.provenance.get("sequential"), result.hypotheses)
    bits += [stopped] if stopped else [f"replicates {result.provenance.get('replicates', '?')}"]
    if result.run_id:
        bits.append(f"run {result.run_id[:12]}")
    parts = [_head(result.name, bits)]
    if result.interrupted:
        parts.append('<p class="warning">Interrupted: this is a partial result.</p>')
    if result.hypotheses:
        parts.append(verdicts_table(result.hypotheses, MAX_NOTEBOOK_VERDICTS))
    else:
        parts.append(f'<p class="meta">No hypothesis; conditions: {esc(", ".join(result.conditions))}.</p>')
    tested = list(dict.fromkeys(v.metric for v in result.hypotheses)) or result.metric_names
    figures = []
    for metric in tested[:MAX_NOTEBOOK_METRICS]:
        values = metric_values(result, metric)
        if values:
            figures += forest_figures(result, metric, values, [c for c in result.conditions if values.get(c)])
    if figures:
        parts.append(f'<div class="figures">{"".join(figures)}</div>')
    where = f"crystallize report {result.run_id[:12]}" if result.run_id else "crystallize.report.write_report"
    parts.append(f'<p class="meta">Every plot and the provenance: <code>{esc(where)}</code>; '
                 "the tables: <code>result.verdicts_frame()</code>, <code>result.to_dataframe()</code>.</p>")
    return _cell("".join(parts), "result")


def verdict_html(verdict: Verdict) -> str:
    """One verdict in a cell: its row of the report's table and its difference plot."""
    bits = [f"{verdict.metric}", f"{verdict.test}", f"α = {verdict.alpha:g}"]
    parts = [_head(f"{verdict.hypothesis} · {verdict.treatment}", bits), verdicts_table([verdict])]
    rows = verdict_rows([verdict])
    if rows:
        relative = verdict.estimand == "relative_difference"
        parts.append('<div class="figures">'
                     + figure(forest_caption([verdict], verdict.metric, relative=relative),
                              forest_plot(rows, verdict.metric, percent=relative))
                     + "</div>")
    return _cell("".join(parts), "verdict")


def run_info_html(info: ExperimentRunInfo) -> str:
    """A stored experiment run in a cell: its facts and how to load its result."""
    status = raw(f'<span class="badge {"accepted" if info.status == "completed" else "not-accepted"}">'
                 f"{esc(info.status)}</span>")
    items = [("run id", info.id), ("status", status), ("started", timestamp(info.started) or "—"),
             ("finished", timestamp(info.finished) or "—"), ("runs", f"{info.runs_progress} done, "
                                                          f"{info.runs_failed} failed"),
             ("verdicts", info.verdict_summary), ("conditions", ", ".join(info.conditions)),
             ("seed", str(info.seed)), ("replicates", str(info.replicates))]
    load = f'Result.load("{info.id[:12]}")'
    return _cell(_head(info.name, ["stored run"]) + facts(items)
                 + f'<p class="meta">Its verdicts and plots: <code>{esc(load)}</code></p>', "stored-run")


def notebook_html(obj: object) -> str | None:
    """The notebook display of a :class:`Result`, :class:`Verdict` or stored run
    (``ExperimentRunInfo``); ``None`` for anything else."""
    if isinstance(obj, Result):
        return result_html(obj)
    if isinstance(obj, Verdict):
        return verdict_html(obj)
    from crystallize.store.reader import ExperimentRunInfo  # noqa: PLC0415 - SQLite only for stored runs

    if isinstance(obj, ExperimentRunInfo):
        return run_info_html(obj)
    return None
