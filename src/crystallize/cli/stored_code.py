"""``crystallize show RUN --code``: the code of the experiment's own modules as it was when the run started."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from crystallize.cli import stored
from crystallize.core.safe_text import printable

__all__ = ["print_code"]


def print_code(store_path: Path, run_id: str) -> None:
    """Print each module file kept with ``run_id``, under a ``# ---- path (module), sha256 ...`` line.

    Raises:
        CliError: no store there; RunIdError: no single run matches ``run_id``.
    """
    with stored.opened(store_path) as store:
        rid = stored.resolve(store, run_id, store_path)
        files = store.code_files(rid)
    if not files:
        click.echo(f"experiment run {rid} has no code kept with it: it was recorded before crystallize kept the "
                   "code of runs, or its steps are not defined in files of your own (a notebook, or installed "
                   "packages, whose versions are in its provenance)")
        return
    for file in files:
        changed = _changed_on_disk(file.path, file.hash)
        click.echo(printable(f"# ---- {file.path} ({file.module}), sha256 {file.hash[:12]}{changed}"))
        if file.text:
            # terminal control characters escaped, indentation (tabs too) kept
            click.echo("\t".join(printable(part, newlines=True) for part in file.text.rstrip("\n").split("\t")))
        else:
            click.echo("# (not kept: the file was larger than 2 MB)")
    click.echo(f"# run id: {rid}")


def _changed_on_disk(path: str, stored_hash: str) -> str:
    try:
        now = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "; the file is no longer there"
    return "" if now == stored_hash else "; the file on disk has changed since"
