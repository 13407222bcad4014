"""The report's stylesheet: responsive from a phone to a desktop, light and dark."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["CSS", "NARROW", "scoped_css"]

CSS = """
:root {
  --fg: #1c2330; --muted: #5b6472; --bg: #ffffff; --card: #f6f7f9; --line: #d9dde3;
  --accent: #2f6fde; --good: #1b8a4a; --bad: #c0392b; --warn: #b7791f; --point: #2f6fde;
  --box: rgba(47, 111, 222, 0.14); --pair: rgba(90, 100, 115, 0.45);
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6e9ee; --muted: #9aa3af; --bg: #14171c; --card: #1d2128; --line: #343a44;
    --accent: #6ea0ff; --good: #4cc27e; --bad: #ff7b6b; --warn: #e7b351; --point: #6ea0ff;
    --box: rgba(110, 160, 255, 0.18); --pair: rgba(180, 188, 200, 0.4);
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1240px; margin: 0 auto; padding: 20px 16px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0 0 16px; overflow-wrap: anywhere; }
.warning { color: var(--warn); font-weight: 600; }
.questions { padding-left: 1.2em; }
.questions li { margin: 4px 0; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { padding: 6px 10px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--card); font-weight: 600; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num small { color: var(--muted); }
ul.legend { padding-left: 1.2em; font-size: 0.9rem; }
td.code, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85rem; }
td.code { overflow-wrap: anywhere; }
td.nowrap { white-space: nowrap; overflow-wrap: normal; }
td.name { overflow-wrap: break-word; }
td.num.wrap { white-space: normal; }
.nw { white-space: nowrap; }
/* the verdict stays in view: the last column of the verdict table is pinned when the table scrolls */
table.verdicts th:last-child, table.verdicts td.verdict { position: sticky; right: 0; background: var(--bg);
  box-shadow: -1px 0 0 var(--line); }
table.verdicts th:last-child { background: var(--card); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 0.85rem; font-weight: 600;
  white-space: nowrap; border: 1px solid currentColor; }
.badge.accepted { color: var(--good); }
.badge.not-accepted { color: var(--muted); }
.badge.opposite-direction { color: var(--bad); }
.badge.insufficient-data, .badge.skipped { color: var(--warn); }
.badge.no-effect-min-effect { color: var(--accent); }
.badge.inconclusive-at-max, .badge.undecided { color: var(--muted); border-style: dashed; }
td small.evidence { display: block; color: var(--muted); white-space: nowrap; }
.notes { color: var(--muted); font-size: 0.9rem; padding-left: 1.2em; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); gap: 16px;
  align-items: start; }
figure { margin: 0; padding: 12px; background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  min-width: 0; }
figcaption { font-size: 0.9rem; color: var(--muted); margin-bottom: 6px; }
figcaption strong { color: var(--fg); }
svg.plot { display: block; width: 100%; height: auto; max-width: 500px; margin: 0 auto; }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .zero { stroke: var(--muted); stroke-width: 1.4; stroke-dasharray: 5 4; }
svg text { fill: var(--fg); }
svg .label { font-size: 16px; }
svg .tick, svg .value { font-size: 14px; fill: var(--muted); }
svg .box { fill: var(--box); stroke: var(--accent); stroke-width: 1; }
svg .median { stroke: var(--accent); stroke-width: 2; }
svg .point { fill: var(--point); fill-opacity: 0.65; }
svg .ci { stroke: var(--fg); stroke-width: 2.2; }
svg .mean { fill: var(--fg); }
svg .pair { fill: none; stroke: var(--pair); stroke-width: 1.3; }
svg .pair-point { fill: var(--pair); }
svg .mean-line { fill: none; stroke: var(--fg); stroke-width: 3; }
svg .whisker { stroke: var(--fg); stroke-width: 2.2; }
svg .estimate { fill: var(--fg); }
svg .accepted { stroke: var(--good); } svg .estimate.accepted { fill: var(--good); stroke: none; }
svg .not-accepted { stroke: var(--muted); } svg .estimate.not-accepted { fill: var(--muted); stroke: none; }
svg .opposite-direction { stroke: var(--bad); } svg .estimate.opposite-direction { fill: var(--bad); stroke: none; }
svg .insufficient-data, svg .skipped { stroke: var(--warn); }
svg .estimate.insufficient-data, svg .estimate.skipped { fill: var(--warn); stroke: none; }
svg .margin { stroke: var(--warn); stroke-width: 1.8; stroke-dasharray: 2 3; }
svg .margin-label { fill: var(--warn); font-size: 13px; }
svg .group-label { font-size: 14px; font-weight: 600; paint-order: stroke; stroke: var(--card);
  stroke-width: 5px; }
svg .no-effect-min-effect { stroke: var(--accent); }
svg .estimate.no-effect-min-effect { fill: var(--accent); stroke: none; }
svg .inconclusive-at-max, svg .undecided { stroke: var(--muted); }
svg .estimate.inconclusive-at-max, svg .estimate.undecided { fill: var(--muted); stroke: none; }
svg .band { fill: var(--box); stroke: none; }
svg .band-edge { fill: none; stroke: var(--accent); stroke-width: 1.4; }
svg .cs-estimate { fill: none; stroke: var(--fg); stroke-width: 2; }
svg .cs-point { fill: var(--fg); }
svg .min-effect { stroke: var(--accent); stroke-width: 1.6; stroke-dasharray: 8 3 2 3; }
svg .futility { fill: none; stroke: var(--accent); stroke-width: 1; stroke-dasharray: 3 3; }
svg .decision { stroke-width: 1.6; stroke-dasharray: 1 3; stroke-linecap: round; }
svg .decision-point { fill: none; stroke-width: 2.4; }
svg .density { fill: var(--box); stroke: var(--point); stroke-width: 1; }
svg .hit { fill: transparent; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--accent); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--card); padding: 8px; border-radius: 6px;
  font-size: 0.8rem; max-height: 24em; overflow: auto; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.85rem; }
@media (max-width: 560px) {
  body { font-size: 15px; }
  main { padding: 14px 10px 36px; }
  h1 { font-size: 1.3rem; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: 6px; }
  th, td { padding: 5px 7px; }
  table.stack thead { display: none; }
  table.stack tr { display: block; padding: 6px 0; border-bottom: 1px solid var(--line); }
  table.stack tr:last-child { border-bottom: none; }
  table.stack td, table.verdicts.stack td.verdict { display: flex; justify-content: space-between; gap: 12px;
    border: none; padding: 2px 10px; text-align: right; position: static; box-shadow: none; background: none; }
  table.stack td::before { content: attr(data-label); color: var(--muted); text-align: left;
    font: 600 0.92rem system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
}
"""


#: Page-level selectors: they become the scope itself, or are left out of a scoped sheet.
_AS_SCOPE = {":root", "body"}
_PAGE_ONLY = {"html", "main", "footer"}


def _blocks(css: str) -> Iterator[tuple[str, str]]:
    """Top-level ``(prelude, body)`` pairs of ``css`` (an ``@media`` body holds its own rules)."""
    depth, start, prelude = 0, 0, ""
    for i, char in enumerate(css):
        if char == "{":
            if depth == 0:
                prelude, start = css[start:i].strip(), i + 1
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                yield prelude, css[start:i].strip()
                start = i + 1


#: The report's narrow-screen query: one card per verdict below it.
NARROW = "@media (max-width: 560px)"


def _scoped_rules(css: str, scope: str, narrow: str) -> str:
    out = []
    for prelude, body in _blocks(css):
        if prelude.startswith("@"):
            out.append(f"{narrow if prelude == NARROW else prelude} {{\n{_scoped_rules(body, scope, narrow)}}}")
            continue
        selectors = []
        for selector in (part.strip() for part in prelude.split(",")):
            if selector in _AS_SCOPE:
                selectors.append(scope)
            elif selector == "*":
                selectors += [scope, f"{scope} *"]
            elif selector not in _PAGE_ONLY:
                selectors.append(f"{scope} {selector}")
        if selectors:
            out.append(f"{', '.join(dict.fromkeys(selectors))} {{ {body} }}")
    return "\n".join(out) + "\n"


def scoped_css(scope: str, narrow: str = NARROW) -> str:
    """The report's stylesheet applied only inside ``scope`` (a selector such as
    ``div.crystallize``), for HTML embedded in another page (a notebook's output):
    the page's variables and fonts move onto the scope, page layout rules are left out,
    and every other rule is prefixed with the scope, which also outranks the host's
    own table styles. ``narrow`` replaces the narrow-screen query (a container query
    follows the width of the output rather than of the window)."""
    return _scoped_rules(CSS, scope, narrow)
