"""The command's view of the run store: open it, find runs, print them, manage the cache."""

from __future__ import annotations

import contextlib
import datetime as _dt
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from crystallize.cli.console import CliError, make_console
from crystallize.core.exceptions import suggest
from crystallize.core.safe_text import plain

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.store.reader import ExperimentRunInfo

__all__ = ["LATEST", "cache_usage", "clear_cache", "human_bytes", "load", "load_with_info", "no_run_named", "opened",
           "print_running", "print_runs", "print_summary", "resolve"]

#: The run id that means "the newest run in the store".
LATEST = "latest"

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
    from crystallize.store import open as open_store  # noqa: PLC0415

    store = open_store(path)
    try:
        yield store
    finally:
        store.close()


def load(path: Path, run_id: str) -> Result:
    """The stored result of ``run_id`` (a unique prefix is enough).

    Raises:
        CliError: no store there (exit status 2).
        RunIdError: no single run matches ``run_id`` (exit status 2).
    """
    with opened(path) as store:
        return store.load_result(store.resolve_run_id(run_id))


def resolve(store: Any, run_id: str, path: Path) -> str:
    """The full id of the run that ``run_id`` names in the open ``store`` at ``path``: a
    unique prefix, or ``"latest"`` for the newest run.

    Raises:
        CliError: ``"latest"`` of a store with no run (exit status 2).
        RunIdError: no single run matches ``run_id`` (exit status 2).
    """
    if run_id != LATEST:
        return str(store.resolve_run_id(run_id))
    newest = store.newest_run_id()
    if newest is None:
        raise CliError(f"the store {str(path)!r} holds no experiment runs yet; start one with: crystallize run FILE.yaml")
    return str(newest)


def load_with_info(path: Path, run_id: str) -> tuple[Result, ExperimentRunInfo]:
    """The stored result of ``run_id`` (``"latest"``: the newest run) and its listing entry
    (status, runs done), read together.

    Raises:
        CliError: no store there, or ``"latest"`` of an empty one (exit status 2).
        RunIdError: no single run matches ``run_id`` (exit status 2).
    """
    with opened(path) as store:
        rid = resolve(store, run_id, path)
        return store.load_result(rid), store.experiment_run(rid)


def print_running(info: ExperimentRunInfo) -> None:
    """Say that experiment run ``info`` is still running, with what it has recorded so far."""
    make_console().print(Text(
        f"RUNNING: {info.runs_done + info.runs_failed} of {info.runs_planned} runs recorded so far (started "
        f"{_when(info.started)}); the summary below is what is stored now and has no verdicts yet. If the "
        "process that ran it has died, continue it with: crystallize run TARGET --resume", style="bold cyan"))


def no_run_named(name: str, names: Sequence[str]) -> CliError:
    """The error for ``list --name`` matching nothing, with the names there are (exit status 2)."""
    known = sorted(set(names))
    listed = f"; names in this store: {', '.join(known[:10])}{', …' if len(known) > 10 else ''}" if known \
        else "; this store holds no experiment runs yet"
    return CliError(f"no experiment run is named {name!r}{suggest(name, known)}{listed}")


def print_summary(result: Result, *, boxes: bool | None = None) -> None:
    """The summary of ``result`` (``crystallize.core.summary``) on stdout; tables boxed only
    on a terminal unless ``boxes`` says."""
    from crystallize.core.summary import render_summary  # noqa: PLC0415

    make_console(boxes=boxes).print(render_summary(result))


def _when(seconds: float | None) -> str:
    if not seconds:
        return "—"
    return _dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def print_runs(rows: Sequence[ExperimentRunInfo], *, total: int | None = None, boxes: bool | None = None) -> None:
    """A table of experiment runs (id, name, when, status, runs done/failed, verdicts); boxed
    only on a terminal unless ``boxes`` says."""
    console = make_console(boxes=boxes)
    if not rows:
        console.print("no experiment runs in this store yet; start one with: crystallize run FILE.yaml")
        return
    table = Table(title="Experiment runs (newest first)", title_justify="left")
    for name, justify in (("id", "left"), ("name", "left"), ("started", "left"), ("status", "left"),
                          ("runs done", "right"), ("failed", "right"), ("seed", "right"), ("verdicts", "left")):
        table.add_column(name, justify=justify, no_wrap=name in ("id", "started"))  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            row.id[:12], plain(row.name), _when(row.started), Text(row.status, style=_STATUS_STYLE.get(row.status, "")),
            row.runs_progress, Text(str(row.runs_failed), style="red" if row.runs_failed else ""),
            str(row.seed), Text(row.verdict_summary, style="green" if row.verdicts and row.accepted else ""),
        )
    console.print(table)
    if total is not None and total > len(rows):
        console.print(f"… {total - len(rows)} older runs not shown (use --limit)")


def _cache_folder(store: Path) -> Path:
    return store / "cache"


def cache_usage(store: Path) -> tuple[int, int]:
    """``(entries, bytes)`` of the step cache under ``store``: one ``*.entry`` file per
    cached output; the bytes count every file, indexes included."""
    folder = _cache_folder(store)
    if not folder.is_dir():
        return 0, 0
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.suffix == ".entry" for p in files), sum(p.stat().st_size for p in files)


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
