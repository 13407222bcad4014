"""The command's view of the run store: open it, find runs, print them, manage the cache."""

from __future__ import annotations

import contextlib
import datetime as _dt
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from crystallize.cli.console import EXIT_FAILED, CliError, make_console
from crystallize.core.exceptions import CrystallizeError

if TYPE_CHECKING:
    from crystallize.core.result import Result

__all__ = ["cache_usage", "clear_cache", "human_bytes", "load", "opened", "print_runs", "print_summary"]

_STATUS_STYLE = {"completed": "green", "failed": "red", "interrupted": "yellow", "running": "cyan"}


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Any]:
    """The store at ``path``, closed afterwards.

    Raises:
        CliError: there is no store there (exit status 2).
    """
    if not path.is_dir():
        raise CliError(f"no run store at {str(path)!r}: run an experiment first (crystallize run FILE.yaml) "
                       "or point --store at the store folder")
    from crystallize import store as store_package  # noqa: PLC0415

    opener = getattr(store_package, "open", None)
    if opener is None:
        raise CliError("this installation of crystallize has no run store (crystallize.store.open)", EXIT_FAILED)
    store = opener(path)
    try:
        yield store
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def load(path: Path, run_id: str) -> Result:
    """The stored result of ``run_id`` (a unique prefix is enough).

    Raises:
        CliError: no store, or no single run matches ``run_id`` (exit status 2).
    """
    with opened(path) as store:
        try:
            full = store.resolve_run_id(run_id)
        except (CrystallizeError, LookupError, ValueError) as exc:
            message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            raise CliError(message) from exc
        if not full:
            raise CliError(f"no experiment run with id {run_id!r} in {str(path)!r}; see crystallize list")
        return store.load_result(full)  # type: ignore[no-any-return]


def print_summary(result: Result) -> None:
    """The summary of ``result`` (``crystallize.core.summary``) on stdout."""
    from crystallize.core.summary import render_summary  # noqa: PLC0415

    make_console().print(render_summary(result))


def _field(row: Any, *names: str) -> Any:
    for name in names:
        if isinstance(row, Mapping) and name in row:
            return row[name]
        if hasattr(row, name):
            return getattr(row, name)
    return None


def _when(value: Any) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, (int, float)):
        return _dt.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value).replace("T", " ")[:19]


def _verdicts(value: Any) -> str:
    if value in (None, "", {}, []):
        return "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{v} {k}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def print_runs(rows: Sequence[Any], *, total: int | None = None) -> None:
    """A table of experiment runs (id, name, when, status, runs done/failed, verdicts)."""
    console = make_console()
    if not rows:
        console.print("no experiment runs in this store yet; start one with: crystallize run FILE.yaml")
        return
    table = Table(title="Experiment runs (newest first)", title_justify="left")
    for name, justify in (("id", "left"), ("name", "left"), ("started", "left"), ("status", "left"),
                          ("runs", "right"), ("failed", "right"), ("reps", "right"), ("verdicts", "left")):
        table.add_column(name, justify=justify, no_wrap=name in ("id", "started"))  # type: ignore[arg-type]
    for row in rows:
        status = str(_field(row, "status") or "—")
        failed = _field(row, "runs_failed", "failed") or 0
        table.add_row(
            str(_field(row, "id", "run_id"))[:12], Text(str(_field(row, "name") or "—")),
            _when(_field(row, "started", "started_at")), Text(status, style=_STATUS_STYLE.get(status, "")),
            str(_field(row, "runs_done", "done") or 0), Text(str(failed), style="red" if failed else ""),
            str(_field(row, "replicates") or "—"), Text(_verdicts(_field(row, "verdicts", "verdict_summary"))),
        )
    console.print(table)
    if total is not None and total > len(rows):
        console.print(f"… {total - len(rows)} older runs not shown (use --limit)")


def _cache_folder(store: Path) -> Path:
    return store / "cache"


def cache_usage(store: Path) -> tuple[int, int]:
    """``(entries, bytes)`` of the step cache under ``store`` (files count as entries)."""
    folder = _cache_folder(store)
    if not folder.is_dir():
        return 0, 0
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def clear_cache(store: Path) -> tuple[int, int]:
    """Delete everything in the step cache; return what was removed as ``(entries, bytes)``."""
    entries, size = cache_usage(store)
    folder = _cache_folder(store)
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    return entries, size


def human_bytes(size: int) -> str:
    """``1536`` as ``"1.5 KiB"``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
