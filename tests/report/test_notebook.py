"""Rich display in Jupyter: results, verdicts and stored runs as self-contained HTML fragments."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import pytest

import crystallize.store
from crystallize import Result
from crystallize.core import rich_html
from crystallize.core.exceptions import FailureImbalanceWarning
from crystallize.report.html import render_report
from crystallize.report.notebook import notebook_html
from crystallize.report.style import scoped_css

from .conftest import build_result


def _verdict_table(html: str) -> str:
    (table,) = re.findall(r'<table class="verdicts stack">.*?</table>', html)
    return table


def test_a_result_shows_the_reports_verdict_table_and_difference_plots(small_result: Result) -> None:
    html = small_result._repr_html_()
    assert html is not None and html.startswith('<div class="crystallize result">')
    # the same numbers as the HTML report: its verdict table, cell for cell
    assert _verdict_table(html) == _verdict_table(render_report(small_result))
    assert html.count('class="badge accepted"') == sum(v.label == "accepted" for v in small_result.verdicts) == 3
    assert html.count('<svg') == html.count('class="plot forest"') == 2  # one difference plot per tested metric
    # self-contained and compact: no script, nothing fetched, no page-level markup
    assert "<script" not in html and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<html" not in html and "<body" not in html and "<h1" not in html
    assert len(html) < len(render_report(small_result)) / 2


def test_user_strings_are_escaped(small_result: Result) -> None:
    html = small_result._repr_html_()
    assert "<b>flaky</b>" not in html and "&lt;b&gt;flaky&lt;/b&gt;" in html
    assert "noisy &lt;sensor&gt; &amp; &#x27;co&#x27;" in html


def test_a_verdict_shows_its_row_and_its_plot(small_result: Result) -> None:
    verdict = small_result.get_hypothesis("score", treatment="shifted")
    html = verdict._repr_html_()
    assert html is not None and html.startswith('<div class="crystallize verdict">')
    rows = re.findall(r"<tr>.*?</tr>", _verdict_table(html))
    assert len(rows) == 2  # the header and this verdict
    assert rows[1] in _verdict_table(render_report(small_result))  # the report's own row
    assert html.count('class="plot forest"') == 1 and 'class="badge accepted"' in html


def test_a_stored_run_shows_its_facts_and_how_to_load_it(tmp_path: Path) -> None:
    from crystallize.core.experiment import Experiment

    from .conftest import gauss, measure
    from crystallize import Hypothesis, Pipeline, Treatment
    from crystallize.core.stat_test import PairedTTest

    experiment = Experiment(name="<i>stored</i>", datasource=gauss(), pipeline=Pipeline([measure()]),
                            treatments=[Treatment("shifted", {"shift": 0.5})],
                            hypotheses=[Hypothesis("score", PairedTTest(), direction="increase")],
                            replicates=4, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FailureImbalanceWarning)
        result = experiment.run(store=tmp_path / "store", progress=False)
    with crystallize.store.open(tmp_path / "store") as store:
        (info,) = store.experiment_runs()
    html = info._repr_html_()
    assert html is not None and html.startswith('<div class="crystallize stored-run">')
    assert "&lt;i&gt;stored&lt;/i&gt;" in html and "<i>" not in html
    assert info.id in html and "completed" in html and "8/8 done, 0 failed" in html
    assert f"Result.load(&quot;{info.id[:12]}&quot;)" in html
    loaded = Result.load(info.id, tmp_path / "store")._repr_html_()
    assert loaded is not None and _verdict_table(loaded) == _verdict_table(result._repr_html_() or "")


def test_anything_else_has_no_rich_display() -> None:
    assert notebook_html(object()) is None


def test_a_rendering_error_falls_back_to_text_and_is_logged(
    small_result: Result, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(obj: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(rich_html, "_renderer", broken)
    monkeypatch.setattr(rich_html, "_looked_up", True)
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        assert small_result._repr_html_() is None
    assert "could not render Result as HTML" in caplog.text


def test_the_stylesheet_is_scoped_to_the_output() -> None:
    css = scoped_css("div.crystallize")
    rules = re.findall(r"([^{}]+)\{[^{}]*\}", css)  # the selectors of every innermost rule
    assert len(rules) > 60
    for rule in rules:
        for selector in rule.split(","):
            assert selector.strip().startswith("div.crystallize"), selector
    assert ":root" not in css and "body" not in css and "main {" not in css
    assert "--good: #1b8a4a" in css  # the colours of the labels travel with the fragment


def test_an_experiment_without_hypotheses_still_displays() -> None:
    result = build_result(replicates=4)
    bare = Result(name=result.name, conditions=result.conditions, records=result.records,
                  provenance=result.provenance)
    html = bare._repr_html_()
    assert html is not None and "No hypothesis" in html and 'class="plot forest"' in html


def test_the_report_renders_through_the_registered_entry_point(monkeypatch: pytest.MonkeyPatch,
                                                               small_result: Result) -> None:
    # core never imports the report: the renderer is the installed "crystallize.html" plugin
    monkeypatch.setattr(rich_html, "_renderer", None)
    monkeypatch.setattr(rich_html, "_looked_up", False)
    assert rich_html._registered() is notebook_html
    assert small_result._repr_html_() == notebook_html(small_result)
    # without any registered renderer, a notebook shows the plain repr
    monkeypatch.setattr(rich_html, "_looked_up", False)
    monkeypatch.setattr(rich_html, "entry_points", lambda group: [])
    assert small_result._repr_html_() is None and repr(small_result).startswith("Result(")
