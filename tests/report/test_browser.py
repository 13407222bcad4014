"""The report in a real browser: headless Chromium at phone and desktop sizes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from crystallize import Result
from crystallize.report.html import write_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


def open_report(browser, report: Path, size: str):  # type: ignore[no-untyped-def]
    """A page at ``size`` showing ``report``, with the console problems and requests it had."""
    width, height = VIEWPORTS[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return page, problems, requests


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_report_renders_cleanly_and_every_plot_is_visible(
    browser, small_result: Result, tmp_path: Path, size: str  # type: ignore[no-untyped-def]
) -> None:
    report = write_report(small_result, tmp_path / "report.html")
    width, height = VIEWPORTS[size]
    page, problems, requests = open_report(browser, report, size)
    assert problems == []
    assert requests == [report.as_uri()]  # nothing fetched but the file itself
    table = page.locator("table.verdicts")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == 4
    assert table.locator(".badge.accepted").first.is_visible()
    plots = page.locator("svg.plot")
    assert plots.count() == 6  # samples, paired and forest for each numeric metric
    for i in range(plots.count()):
        plot = plots.nth(i)
        plot.scroll_into_view_if_needed()
        assert plot.is_visible()
        box = plot.bounding_box()
        assert box is not None and box["width"] > 0.6 * min(width, 500) and box["height"] > 60
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5  # inside the window
    # nothing wider than the window: tables scroll inside their own box
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / f"report-{size}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_sequence_plots_render_with_the_decision_inside_the_plot(
    browser, tmp_path: Path, size: str  # type: ignore[no-untyped-def]
) -> None:
    from ..sequential_runs import run_sequential

    result = run_sequential()  # better accepted at 20, same futile at 35, looks 5 to 35
    report = write_report(result, tmp_path / "sequential.html")
    width, height = VIEWPORTS[size]
    page, problems, requests = open_report(browser, report, size)
    assert problems == [] and requests == [report.as_uri()]
    assert "stopped at 35 of at most 60 replicates" in page.locator("header").inner_text()
    plots = page.locator("svg.plot.sequence")
    assert plots.count() == 2
    for i in range(2):
        plot = plots.nth(i)
        plot.scroll_into_view_if_needed()
        assert plot.is_visible()
        box = plot.bounding_box()
        assert box is not None and box["width"] > 0.6 * min(width, 500) and box["height"] > 150
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
        # the band, the estimate's 7 points and the decision marker are drawn inside the plot
        band = plot.locator("path.band").bounding_box()
        assert band is not None and band["height"] > 20
        assert plot.locator("circle.cs-point").count() == 7
        marker = plot.locator("circle.decision-point").bounding_box()
        assert marker is not None
        assert box["x"] <= marker["x"] and marker["x"] + marker["width"] <= box["x"] + box["width"]
        assert box["y"] <= marker["y"] and marker["y"] + marker["height"] <= box["y"] + box["height"]
        # the band is drawn in a fill colour of its own, not black
        fill = plot.locator("path.band").evaluate("e => getComputedStyle(e).fill")
        assert fill not in ("rgb(0, 0, 0)", "none")
        caption = plot.locator("xpath=../figcaption").inner_text()
        assert "95% confidence sequence" in caption and "at every look at once" in caption
    assert page.locator("table.verdicts").get_by_text("decided at 20").is_visible()
    if size == "phone":  # stacked one card per verdict: the evidence under the label, nothing to scroll
        assert page.locator("div.scroll:has(table.verdicts)").evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot = tmp_path / f"sequential-{size}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def save_shot(page, tmp_path: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    """A full-page screenshot in ``tmp_path``, also copied to ``$CRYSTALLIZE_SCREENSHOTS`` when it is set."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("CRYSTALLIZE_SCREENSHOTS")
    if keep:
        shutil.copy(shot, Path(keep) / name)
    return shot


#: A notebook's page around one output: a prompt column, and the host's own table styles
#: (as JupyterLab's ``.jp-RenderedHTMLCommon``), which the output must not take, nor change.
NOTEBOOK_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; font: 13px sans-serif; background: #fff; }}
.cell {{ display: flex; padding: 12px 16px; }} .prompt {{ width: 80px; flex: none; color: #999; }}
.output {{ flex: 1; min-width: 0; overflow-x: auto; }}
.output td, .output th {{ text-align: right; border: none; padding: 1px 4px; }}
.output tr:nth-child(odd) {{ background: #f5f5f5; }}
#host {{ font-size: 13px; }}
</style></head><body><p id="host">In a notebook</p>
<div class="cell"><div class="prompt">[3]:</div><div class="output">{output}</div></div></body></html>"""


@pytest.mark.parametrize("width", [760, 1280])
def test_notebook_display_renders_the_verdicts_with_their_numbers(
    browser, small_result: Result, tmp_path: Path, width: int  # type: ignore[no-untyped-def]
) -> None:
    from crystallize.core.display import estimate_value, format_p

    page_file = tmp_path / "notebook.html"
    page_file.write_text(NOTEBOOK_PAGE.format(output=small_result._repr_html_()), encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    assert problems == [] and requests == [page_file.as_uri()]
    output = page.locator("div.crystallize")
    rows = output.locator("table.verdicts tbody tr")
    assert rows.count() == len(small_result.verdicts) == 4
    for i, verdict in enumerate(small_result.verdicts):
        row = rows.nth(i)
        label = row.locator(".badge")
        assert label.is_visible() and label.inner_text() == verdict.label
        cells = {c.get_attribute("data-label"): c for c in row.locator("td").all()}
        assert cells["p"].inner_text() == format_p(verdict.p_value, verdict.alpha)
        assert cells["p adj."].inner_text() == format_p(verdict.p_value_adjusted, verdict.alpha)
        numbers = "e => [...e.querySelectorAll('.nw')].map(s => s.textContent).join(' ')"
        shown = cells["difference"].evaluate(numbers)
        assert shown == estimate_value(verdict, 4) and cells["difference"].get_by_text(shown.split()[0]).is_visible()
        assert float(shown.split()[0]) == pytest.approx(verdict.difference, rel=1e-3)
        low, high = verdict.ci
        ends = cells["interval"].evaluate(numbers).strip("[]").split(",")
        assert [float(e) for e in ends] == pytest.approx([low, high], rel=1e-3, abs=1e-4)
        assert "95% CI" in cells["interval"].inner_text()
        # the verdict cell is not clipped: all of it inside the table's visible box
        assert cells["verdict"].evaluate("e => e.scrollWidth <= e.clientWidth")
        box, frame = label.bounding_box(), output.locator("div.scroll").bounding_box()
        assert box is not None and frame is not None and box["x"] + box["width"] <= frame["x"] + frame["width"]
    # labels keep their colours (green for accepted), not the host's
    accepted = output.locator(".badge.accepted").first.evaluate("e => getComputedStyle(e).color")
    assert accepted == "rgb(27, 138, 74)"
    row_colours = {rows.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(4)}
    assert row_colours == {"rgb(255, 255, 255)"}  # not the host's stripes
    if width >= 1280:  # a table, aligned as in the report (the host right-aligns every cell)
        assert output.locator("td").first.evaluate("e => getComputedStyle(e).textAlign") == "left"
    else:  # a narrow output: one card per verdict, as the report on a phone
        assert not output.locator("table.verdicts thead").is_visible()
    # user strings are text, never markup
    assert output.locator("b").count() == 0 and output.get_by_text("<b>flaky</b>").first.is_visible()
    # the difference plots are drawn, and nothing is wider than the output
    plots = output.locator("svg.plot.forest")
    assert plots.count() == 2 and all(plots.nth(i).is_visible() for i in range(2))
    assert page.locator("div.output").evaluate("e => e.scrollWidth <= e.clientWidth")
    assert output.locator("div.scroll").evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the host page keeps its own styles
    assert page.locator("#host").evaluate("e => getComputedStyle(e).fontSize") == "13px"
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "13px"
    save_shot(page, tmp_path, f"notebook-{width}.png")
    page.close()


#: Where the report's screenshots are kept under ``$CRYSTALLIZE_SCREENSHOTS``.
REPORT_SHOTS = {"phone": "report-390.png", "desktop": "report-1280.png"}


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_wide_verdicts_are_never_clipped_and_plots_keep_to_their_panels(
    browser, tmp_path: Path, size: str  # type: ignore[no-untyped-def]
) -> None:
    from .conftest import build_wide_result

    result = build_wide_result()
    assert "opposite direction" in [v.label for v in result.verdicts]
    report = write_report(result, tmp_path / "wide.html")
    width, _ = VIEWPORTS[size]
    page, problems, requests = open_report(browser, report, size)
    assert problems == [] and requests == [report.as_uri()]
    # every verdict label is whole and inside the table's visible box
    frame = page.locator("div.scroll:has(table.verdicts)")
    frame_box = frame.bounding_box()
    assert frame_box is not None
    cells = page.locator("table.verdicts td[data-label='verdict']")
    assert cells.count() == len(result.verdicts) == 9
    for i, verdict in enumerate(result.verdicts):
        cell = cells.nth(i)
        cell.scroll_into_view_if_needed()
        label = cell.locator(".badge")
        assert label.inner_text() == verdict.label and label.is_visible()
        assert cell.evaluate("e => e.scrollWidth <= e.clientWidth")
        assert label.evaluate("e => e.scrollWidth <= e.clientWidth")
        box = label.bounding_box()
        assert box is not None
        assert frame_box["x"] <= box["x"] and box["x"] + box["width"] <= frame_box["x"] + frame_box["width"]
        # nothing drawn over it: the label is the topmost element at its centre
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert label.evaluate("(e, [x, y]) => e.contains(document.elementFromPoint(x, y))", list(centre))
    if size == "desktop":  # at 1280 px the table fits: nothing to scroll to
        assert frame.evaluate("e => e.scrollWidth <= e.clientWidth")
    # the paired plot: one panel per treatment, each line inside its own panel, no label cut off
    paired = page.locator("svg.plot.paired").first
    paired.scroll_into_view_if_needed()
    panels = paired.locator("g.panel")
    assert panels.count() == 3
    svg_box = paired.bounding_box()
    assert svg_box is not None
    for i in range(3):
        panel = panels.nth(i)
        axis = panel.locator("line.axis").bounding_box()
        assert axis is not None
        for line in panel.locator("path.pair").all():
            b = line.bounding_box()
            assert b is not None and axis["x"] - 0.5 <= b["x"] and b["x"] + b["width"] <= axis["x"] + axis["width"] + 0.5
    for label in paired.locator("text").all():
        b = label.bounding_box()
        assert b is not None and b["width"] > 0
        assert svg_box["x"] - 0.5 <= b["x"] and b["x"] + b["width"] <= svg_box["x"] + svg_box["width"] + 0.5
    # the difference plots: margin lines drawn and labelled, estimates off the plot's edges
    margined = page.locator("svg.plot.forest:has(line.margin)")
    assert margined.count() == 2  # spread (non-inferiority) and score (equivalence: both margins)
    for i in range(2):
        plot = margined.nth(i)
        plot.scroll_into_view_if_needed()
        for margin in plot.locator("line.margin").all():  # a vertical line: no width, so no is_visible()
            b = margin.bounding_box()
            assert b is not None and b["height"] > 30
            assert margin.evaluate("e => getComputedStyle(e).stroke") not in ("none", "rgba(0, 0, 0, 0)")
        assert plot.locator("text.margin-label").count() == plot.locator("line.margin").count() >= 1
        grid = plot.locator("line.axis").bounding_box()
        assert grid is not None
        for mark in plot.locator("rect.estimate").all() + plot.locator("line.margin").all():
            b = mark.bounding_box()
            assert b is not None and grid["x"] + 2 < b["x"] and b["x"] + b["width"] < grid["x"] + grid["width"] - 2
        for value in plot.locator("text").all():
            b = value.bounding_box()
            p = plot.bounding_box()
            assert b is not None and p is not None and p["x"] - 0.5 <= b["x"] <= b["x"] + b["width"] <= p["x"] + p["width"] + 0.5
    # non-inferiority (lower is better): one margin, +0.2; equivalence: two, ±0.5
    assert sorted(margined.nth(i).locator("line.margin").count() for i in range(2)) == [1, 2]
    # each caption gives the true level of its intervals
    captions = page.locator("figure:has(svg.plot.forest) figcaption").all_inner_texts()
    assert any("95% CI (per comparison)" in c for c in captions)
    assert any("90% CI (per comparison), whose upper end is the one-sided 95% bound" in c for c in captions)
    assert any("whose each end is a one-sided 95% bound" in c for c in captions)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.evaluate("window.scrollTo(0, 0)")
    save_shot(page, tmp_path, REPORT_SHOTS[size])
    page.close()
