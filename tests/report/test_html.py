"""The HTML report of a real (small) experiment run."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from crystallize import Experiment, Pipeline, Result, data_source, pipeline_step
from crystallize.report.html import render_report, write_report

_VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}  # the void elements the report uses
_SVG_LEAVES = {"line", "circle", "rect", "path", "text", "title", "g"}


class _Outline(HTMLParser):
    """Collects tags, checks they nest properly, and keeps the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    parser.close()
    return parser


def test_report_is_one_well_formed_page_without_external_resources(small_result: Result) -> None:
    page = render_report(small_result)
    outline = _outline(page)
    assert outline.errors == [] and outline.stack == []
    for tag, attrs in outline.tags:
        assert tag not in ("script", "link", "img", "iframe"), tag
        for name in ("src", "href"):
            assert not (attrs.get(name) or "").startswith(("http:", "https:", "//")), (tag, attrs)
    assert "@import" not in page and "url(" not in page


def test_every_user_string_is_escaped(small_result: Result) -> None:
    page = render_report(small_result)
    assert "<b>flaky</b>" not in page and "&lt;b&gt;flaky&lt;/b&gt;" in page
    assert "<sensor>" not in page and "noisy &lt;sensor&gt; &amp; &#x27;co&#x27;" in page
    assert "sensor &lt;offline&gt; &amp; unplugged" in page
    assert "<offline>" not in page
    text = "".join(_outline(page).text)
    assert "<b>flaky</b>" in text  # the reader sees the name as written


def test_question_and_verdicts_come_first_with_raw_and_adjusted_p(small_result: Result) -> None:
    page = render_report(small_result)
    assert page.index('id="verdicts"') < page.index('class="metric"') < page.index('id="failures"') \
        < page.index('id="provenance"')
    table = page[page.index('<table class="verdicts stack">'):]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):])
    assert len(rows) == len(small_result.hypotheses) == 4
    first = small_result.hypotheses[0]
    assert first.hypothesis == "score" and first.label == "accepted"
    assert "accepted" in rows[0] and "paired_t" in rows[0]
    assert f"{first.p_value:.3g}"[:4] in rows[0] and f"{first.p_value_adjusted:.3g}"[:4] in rows[0]
    assert "Do <strong>shifted</strong> or <strong>&lt;b&gt;flaky&lt;/b&gt;</strong> increase <strong>score" in page


def test_each_numeric_metric_gets_samples_paired_and_forest_plots(small_result: Result) -> None:
    page = render_report(small_result)
    for metric in ("score", "spread"):
        section = page[page.index(f"<h2>{metric}</h2>"):]
        section = section[: section.index("</section>")]
        assert [c for c in ("plot samples", "plot paired", "plot forest") if c in section] == \
            ["plot samples", "plot paired", "plot forest"]
        assert section.count('class="point"') == 8 + 8 + 7  # every successful sample
    label = page[page.index("<h2>label</h2>"):]
    assert "Not numeric" in label[: label.index("</section>")]


def test_failures_and_provenance_are_reported(small_result: Result) -> None:
    page = render_report(small_result)
    failures = page[page.index('id="failures"'):page.index('id="provenance"')]
    assert "1 of 24 runs failed" in failures and "RuntimeError" in failures and "traceback" in failures
    provenance = page[page.index('id="provenance"'):]
    prov = small_result.provenance
    assert prov["fingerprint"] in provenance and "11 (given)" in provenance
    for step in prov["definition"]["steps"]:
        assert step["code"] in provenance and step["step_hash"] in provenance
    assert prov["definition"]["datasource"]["code"] in provenance
    assert prov["environment"]["python"] in provenance
    git = prov.get("git")
    assert (git["commit"] if git else "not a git work tree") in provenance
    assert str(prov["seeds"]["7"]) in provenance


def test_write_report_creates_folders(small_result: Result, tmp_path: Path) -> None:
    path = write_report(small_result, tmp_path / "deep" / "report.html")
    assert path.read_text(encoding="utf-8") == render_report(small_result)


def test_report_without_hypotheses_or_successful_runs() -> None:
    @data_source
    def nothing(ctx):
        return None

    @pipeline_step
    def broken(data):
        raise ValueError("always")

    result = Experiment(datasource=nothing(), pipeline=Pipeline([broken()]), replicates=2, seed=1,
                        name="empty").run(store=False, progress=False)
    page = render_report(result)
    assert _outline(page).errors == []
    assert "states no hypothesis" in page and "2 of 2 runs failed" in page and "<svg" not in page
