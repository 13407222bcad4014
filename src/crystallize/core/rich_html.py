"""Rich display in Jupyter: ``_repr_html_`` of results, verdicts and stored runs.

The model knows no report (the import contracts forbid it), so the HTML comes
from a renderer registered as a plugin: the ``crystallize.html`` entry point
(crystallize's own is ``crystallize.report.notebook:notebook_html``, declared in
``pyproject.toml``), looked up the first time something is displayed, or one set
with :func:`use_html_renderer`. Without one, or when rendering fails, Jupyter
falls back to the plain ``repr``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points

__all__ = ["ENTRY_POINT_GROUP", "html_of", "use_html_renderer"]

_logger = logging.getLogger("crystallize")

#: The entry-point group a notebook renderer registers under.
ENTRY_POINT_GROUP = "crystallize.html"

Renderer = Callable[[object], "str | None"]

#: Renders a result, verdict or stored run as an HTML fragment (``None``: no rich display).
_renderer: Renderer | None = None
_looked_up = False


def use_html_renderer(renderer: Renderer | None) -> None:
    """Set how results, verdicts and stored runs render as HTML in a notebook
    (``None``: the registered entry point again)."""
    global _renderer, _looked_up  # noqa: PLW0603 - one renderer for the process
    _renderer, _looked_up = renderer, renderer is not None


def _registered() -> Renderer | None:
    """The renderer of the ``crystallize.html`` entry point (the first by name), if installed."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name)
    if not found:
        _logger.debug("no %s entry point: results display as text", ENTRY_POINT_GROUP)
        return None
    renderer: Renderer = found[0].load()
    return renderer


def html_of(obj: object) -> str | None:
    """``obj`` as an HTML fragment for Jupyter, or ``None`` (plain ``repr`` then).

    A display must never break a notebook cell: a rendering error is logged and
    the plain text shown instead.
    """
    global _renderer, _looked_up  # noqa: PLW0603 - looked up once, on the first display
    try:
        if not _looked_up:
            _renderer, _looked_up = _registered(), True
        return _renderer(obj) if _renderer is not None else None
    except Exception:  # noqa: BLE001 - a display falls back to text, the error is logged
        _logger.warning("could not render %s as HTML; showing its text instead", type(obj).__name__, exc_info=True)
        return None
