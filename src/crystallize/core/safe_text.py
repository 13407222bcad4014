"""User-supplied strings made safe to show on a terminal.

Names of experiments, treatments, hypotheses, metrics and steps, and the
messages of failed runs, are the user's text: shown through Rich they must
never be read as markup (``lr[/b]`` would raise ``MarkupError``), and shown
anywhere they must never reach the terminal as control characters (an
escape sequence in a name could recolour, clear or retitle the terminal, and
a newline or a bidirectional override could fake a line). Control
characters are shown escaped (``\\x1b``) instead.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["markup_safe", "plain", "printable"]

# Bidirectional formatting characters: they reorder what follows them on the line.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _shown(char: str, newlines: bool) -> str:
    if newlines and char == "\n":
        return char
    if unicodedata.category(char) == "Cc" or char in _BIDI:
        return char.encode("unicode_escape").decode("ascii")
    return char


def printable(text: object, *, newlines: bool = False) -> str:
    """``str(text)`` with control and bidirectional formatting characters escaped.

    Args:
        text: any value; it is shown as ``str(text)``.
        newlines: keep line breaks (for messages and tracebacks); a name never has them.

    Examples:
        >>> printable("lr\\x1b[31m")
        'lr\\\\x1b[31m'
    """
    value = str(text)
    if value.isprintable() or (newlines and value.replace("\n", "").isprintable()):
        return value
    return "".join(_shown(char, newlines) for char in value)


def markup_safe(text: object) -> str:
    """:func:`printable` text with Rich markup escaped, for a markup template such as ``"[bold]{name}"``."""
    from rich.markup import escape  # noqa: PLC0415 - Rich is loaded only when something is shown

    return escape(printable(text))


def plain(text: object, style: str = "", *, newlines: bool = False) -> Text:
    """:func:`printable` text as a Rich ``Text`` (never parsed as markup), in ``style``."""
    from rich.text import Text  # noqa: PLC0415

    return Text(printable(text, newlines=newlines), style=style)
