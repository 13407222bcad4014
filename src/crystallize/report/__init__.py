"""Reports of experiment runs: the HTML report with inline SVG plots, and exports."""

from __future__ import annotations

from crystallize.report.export import EXPORT_FORMATS, MissingDependencyError, export_samples
from crystallize.report.html import render_report, write_report

__all__ = ["EXPORT_FORMATS", "MissingDependencyError", "export_samples", "render_report", "write_report"]
