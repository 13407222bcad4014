"""Rich display in Jupyter: ``_repr_html_`` of results, verdicts and stored runs.

The model knows no report (the import contracts forbid it), so the HTML comes
from a renderer the package's top level wires in (``use_html_renderer``), as
:func:`crystallize.core.result.use_store_opener` wires in the store. Without one,
or when rendering fails, Jupyter falls back to the plain ``repr``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["html_of", "use_html_renderer"]

_logger = logging.getLogger("crystallize")

#: Renders a result, verdict or stored run as an HTML fragment (``None``: no rich display).
_renderer: Callable[[object], str | None] | None = None


def use_html_renderer(renderer: Callable[[object], str | None]) -> None:
    """Set how results, verdicts and stored runs render as HTML in a notebook
    (``crystallize.report.notebook.notebook_html`` is the package's)."""
    global _renderer  # noqa: PLW0603 - the one place the report is wired into the model
    _renderer = renderer


def html_of(obj: object) -> str | None:
    """``obj`` as an HTML fragment for Jupyter, or ``None`` (plain ``repr`` then).

    A display must never break a notebook cell: a rendering error is logged and
    the plain text shown instead.
    """
    if _renderer is None:
        return None
    try:
        return _renderer(obj)
    except Exception:  # noqa: BLE001 - a display falls back to text, the error is logged
        _logger.warning("could not render %s as HTML; showing its text instead", type(obj).__name__, exc_info=True)
        return None
