"""Experiment run ids: made at random, resolved from a unique prefix through the database."""

from __future__ import annotations

import re
import secrets
import sqlite3

from crystallize.store.errors import RunIdError

__all__ = ["new_run_id", "recent_run_ids", "resolve_run_id"]

#: What a stored id looks like; anything else (a path, ``..``) is never used as a folder name.
_ID = re.compile(r"[0-9a-f]{1,64}")


def new_run_id() -> str:
    """A short random id: 12 hexadecimal characters (any unique prefix also names the run)."""
    return secrets.token_hex(6)


def recent_run_ids(conn: sqlite3.Connection, limit: int = 5) -> list[str]:
    """The ids of the newest experiment runs, newest first (as ``crystallize list`` orders them)."""
    return [r[0] for r in conn.execute("SELECT id FROM experiment_runs ORDER BY started DESC, rowid DESC LIMIT ?",
                                       (limit,))]


def resolve_run_id(conn: sqlite3.Connection | None, prefix: object) -> str:
    """The full id of the experiment run that ``prefix`` starts, looked up in the database.

    Args:
        conn: the store's database (``None``: a store with no experiment run yet).
        prefix: an id or a unique prefix of one.

    Raises:
        RunIdError: no experiment run matches (recent ids listed), or several
            do (the matches listed).
    """
    text = str(prefix).strip()
    if not isinstance(prefix, str) or not text:
        raise RunIdError(text, recent_run_ids(conn) if conn is not None else [], ambiguous=False)
    matches = [str(r[0]) for r in conn.execute(
        "SELECT id FROM experiment_runs WHERE substr(id, 1, ?) = ? ORDER BY started DESC",
        (len(text), text))] if conn is not None else []
    found = text if text in matches else matches[0] if len(matches) == 1 else None
    if found is None:
        recent = recent_run_ids(conn) if conn is not None else []
        raise RunIdError(text, matches or recent, ambiguous=bool(matches))
    if not _ID.fullmatch(found):  # written by hand into the database: never a path
        raise RunIdError(text, [], ambiguous=False)
    return found
