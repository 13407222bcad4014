"""The source of the experiment's own modules, kept with each experiment run.

When a run starts, the files of the user's modules whose code the
fingerprints follow (the data source's, the steps', a treatment function's and
a user-written test's modules, and the project modules they call into: see
:func:`crystallize.core.fingerprint.project_modules`) are read and stored, each
text once per store however many runs share it (keyed by its SHA-256). So
``crystallize show RUN --code`` prints the code that produced a run after the
files on disk changed.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crystallize.core.fingerprint import project_modules

__all__ = ["CODE_TABLES", "MAX_FILE_BYTES", "CodeFile", "code_objects", "read_code_files", "record_code_files",
           "stored_code_files"]

log = logging.getLogger("crystallize")

#: A module file larger than this is not kept (its path and hash are, with the text left empty).
MAX_FILE_BYTES = 2_000_000

_TABLES = """
CREATE TABLE IF NOT EXISTS code_texts (
    hash        TEXT PRIMARY KEY,
    text        TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS code_files (
    experiment_run_id TEXT NOT NULL,
    position    INTEGER NOT NULL,
    path        TEXT NOT NULL,
    module      TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (experiment_run_id, path)
) WITHOUT ROWID
"""

#: The statements that create the tables (run by :mod:`crystallize.store.schema`).
CODE_TABLES = [statement for statement in _TABLES.split(";") if statement.strip()]


@dataclass(frozen=True, slots=True)
class CodeFile:
    """One of the experiment's own module files as it was when the run started.

    Attributes:
        path: the file's absolute path then.
        module: the module's name (``__main__`` for a script).
        hash: SHA-256 of the text (hex).
        text: the file's text (empty if it was larger than :data:`MAX_FILE_BYTES`).
    """

    path: str
    module: str
    hash: str
    text: str


def code_objects(experiment: Any) -> list[Any]:
    """The code whose fingerprints identify ``experiment``: data source, steps (a decorated
    function's own function), treatment functions and statistical tests."""
    pipeline = getattr(experiment, "pipeline", None)
    parts = [getattr(experiment, "datasource", None), *getattr(pipeline, "steps", ())]
    objects = [getattr(part, "fn", part) for part in parts if part is not None]
    objects += [t.apply_fn for t in getattr(experiment, "treatments", ()) if callable(t.apply_fn)]
    objects += [h.statistical_test for h in getattr(experiment, "hypotheses", ())]
    return objects


def read_code_files(objects: Iterable[Any]) -> list[CodeFile]:
    """The current text of each project module file that the fingerprints of ``objects`` follow
    (none, logged, if they cannot be found: keeping the code never stops a run)."""
    try:
        names = project_modules(objects)
    except Exception as exc:  # noqa: BLE001 - an exotic object the fingerprint walks past
        log.info("the experiment's code is not kept with the run: %s: %s", type(exc).__name__, exc)
        return []
    files = []
    for name in names:
        path = getattr(sys.modules.get(name), "__file__", None)
        if not isinstance(path, str):
            continue
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            log.info("the code of module %s (%s) is not kept with the run: %s", name, path, exc)
            continue
        text = data.decode("utf-8", errors="replace") if len(data) <= MAX_FILE_BYTES else ""
        files.append(CodeFile(str(Path(path).resolve()), name, hashlib.sha256(data).hexdigest(), text))
    return files


def record_code_files(conn: sqlite3.Connection, run_id: str, files: Sequence[CodeFile]) -> None:
    """Store ``files`` with the run (inside the caller's transaction); a resumed run keeps the first."""
    conn.executemany("INSERT OR IGNORE INTO code_texts (hash, text) VALUES (?, ?)", [(f.hash, f.text) for f in files])
    conn.executemany("INSERT OR IGNORE INTO code_files (experiment_run_id, position, path, module, hash) "
                     "VALUES (?, ?, ?, ?, ?)", [(run_id, i, f.path, f.module, f.hash) for i, f in enumerate(files)])


def stored_code_files(conn: sqlite3.Connection, run_id: str) -> list[CodeFile]:
    """The module files kept with ``run_id``, in the order they were met (none for a run recorded
    before code was kept)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'code_files'").fetchone() is None:
        return []
    rows = conn.execute("SELECT f.path, f.module, f.hash, t.text FROM code_files f JOIN code_texts t ON t.hash = f.hash "
                        "WHERE f.experiment_run_id = ? ORDER BY f.position", (run_id,)).fetchall()
    return [CodeFile(*row) for row in rows]
