"""Terminal output and error reporting of the ``crystallize`` command.

Colour and Rich tables on a terminal; plain text without colour codes when
the output is piped or ``NO_COLOR`` is set. Errors are one clear line on
stderr (the traceback only with ``--debug``) and map to exit codes:
0 success, 1 the experiment itself failed, 2 a usage or definition error.
Library warnings are ``warning: ...`` lines on stderr; the library's INFO log
(progress lines among them) shows on stderr when it is not a terminal.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import traceback
import warnings
from collections.abc import Iterator
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from crystallize.config.problems import ConfigError
from crystallize.config.imports import ImportPathError
from crystallize.core.exceptions import CrystallizeError, ExperimentDefinitionError, RunFailedError
from crystallize.core.safe_text import printable
from crystallize.store.errors import DefinitionChangedError, RunIdError, StoreNotFoundError

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "CliError", "exit_code_for", "make_console",
           "command_output", "report_error", "show_library_log", "without_boxes"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Errors in what the user asked for or defined: exit status 2.
USAGE_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError, ExperimentDefinitionError, ImportPathError, RunIdError, StoreNotFoundError, DefinitionChangedError,
)


class CliError(CrystallizeError):
    """An error the command reports as one line, with its exit status.

    Attributes:
        exit_code: 2 for usage or definition errors (the default), 1 for failures.
    """

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _plain(stream: IO[str]) -> bool:
    return "NO_COLOR" in os.environ or not _is_terminal(stream)


class _CliConsole(Console):
    """A console that, unless ``boxes``, prints tables without box drawing (for pipes)."""

    def __init__(self, *args: Any, boxes: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.boxes = boxes

    def print(self, *objects: Any, **kwargs: Any) -> None:  # noqa: A003 - Rich's name
        super().print(*(objects if self.boxes else map(without_boxes, objects)), **kwargs)


def without_boxes(renderable: Any) -> Any:
    """``renderable`` with every table in it (in groups and alternative layouts too) drawn
    without box characters: columns separated by spaces, as ``ls -l`` or ``docker ps`` print."""
    if isinstance(renderable, Table):
        renderable.box = None
        renderable.pad_edge = False
    for child in (*getattr(renderable, "renderables", ()), *getattr(renderable, "layouts", ())):
        without_boxes(child)
    return renderable


def make_console(stderr: bool = False, *, boxes: bool | None = None) -> Console:
    """A console that colours only a terminal without ``NO_COLOR``; 120 columns when piped.

    Args:
        stderr: print to standard error instead of standard output.
        boxes: draw tables with box characters (default: only on a terminal).
    """
    stream = sys.stderr if stderr else sys.stdout
    plain = _plain(stream)
    columns = os.environ.get("COLUMNS", "")
    width = (int(columns) if columns.isdigit() else 120) if plain else None
    boxed = _is_terminal(stream) if boxes is None else boxes
    if not _is_terminal(stream):
        stream = _TrimmedLines(stream)
    return _CliConsole(file=stream, highlight=False, no_color=plain, force_terminal=False if plain else None,
                       color_system=None if plain else "auto", width=width, soft_wrap=False, boxes=boxed)


class _TrimmedLines(io.TextIOBase):
    """A text stream writing to ``stream`` without the spaces that pad a table's lines
    on the right (a pipe or a file gets ``name  value``, not ``name  value      ``)."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(_TRAILING.sub("\n", text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


_TRAILING = re.compile(r"[ \t]+\n")


def _is_terminal(stream: IO[str]) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def exit_code_for(exc: BaseException) -> int:
    """The exit status for an exception raised by a command."""
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, USAGE_ERRORS):
        return EXIT_USAGE
    return EXIT_FAILED


def report_error(exc: BaseException, *, debug: bool) -> int:
    """Print ``exc`` to stderr (one line, more only for multi-problem files); return its exit status."""
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    message = printable(str(exc).strip() or type(exc).__name__, newlines=True)
    if not isinstance(exc, (CrystallizeError, OSError)):
        message = f"{type(exc).__name__}: {message}"
    lines = message.splitlines()
    if isinstance(exc, RunFailedError) or not isinstance(exc, CrystallizeError):
        lines = lines[:1]  # RunFailedError appends the run's traceback: --debug shows it
    print(f"error: {lines[0]}", file=sys.stderr)
    for extra in lines[1:]:
        print(f"       {extra}", file=sys.stderr)
    return exit_code_for(exc)


class _StderrHandler(logging.Handler):
    """Writes to ``sys.stderr`` as it is when a record comes (a progress bar redirects it
    while it draws, so that lines print above the bar)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never stop the command
            self.handleError(record)


class _LineFormatter(logging.Formatter):
    """``[2026-12-05 02:31:05] message`` for INFO, ``warning: message`` (``error: ...``) above."""

    def format(self, record: logging.LogRecord) -> str:
        message = printable(record.getMessage(), newlines=True)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return f"[{self.formatTime(record, '%Y-%m-%d %H:%M:%S')}] {message}"


def show_library_log(*, quiet: bool = False) -> None:
    """Show the ``crystallize`` logger on stderr: INFO and above when stderr is not a terminal
    (a batch job's log then has the progress lines), warnings only on a terminal (the bar
    shows the progress) or when ``quiet``. Replaces the handler an earlier call added."""
    logger = logging.getLogger("crystallize")
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(_LineFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet or sys.stderr.isatty() else logging.INFO)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    text = printable(str(message).strip() or category.__name__, newlines=True)
    print("warning: " + text.replace("\n", "\n         "), file=sys.stderr)


@contextlib.contextmanager
def command_output() -> Iterator[None]:
    """Within the block (one command), a warning prints as one ``warning: ...`` line on stderr
    (no file, line number or source line), once per message as Python's default filter does;
    afterwards the ``crystallize`` logger is as it was before :func:`show_library_log`."""
    logger = logging.getLogger("crystallize")
    level = logger.level
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            yield
        finally:
            for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
                logger.removeHandler(handler)
            logger.setLevel(level)
