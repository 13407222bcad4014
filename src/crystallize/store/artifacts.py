"""Artifacts: files a step saves for its run (``ctx.artifacts``).

Each run owns the folder ``<store>/artifacts/<run_id>/<condition>/<replicate>/``.
``ctx.artifacts.save(name, obj)`` writes ``bytes`` as they are, copies a
file given as a :class:`pathlib.Path` (any ``os.PathLike``), and pickles any
other object (a ``str`` too); ``load(name)`` gives back the bytes (for bytes
and copied files) or the object. The names saved by a run are listed in its
record. Artifacts of an earlier experiment run are read with
``ctx.artifacts.load(name, run_id=..., condition=..., replicate=...)`` or
``crystallize.store.open(path).load_artifact(...)``; the run id is looked up
in the store's database (never joined to a path as given), and names are
plain file names. Pickled artifacts run code when loaded: only load artifacts
from stores you trust; folders are created owner-only, and folders or files
that other users can write are refused.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from crystallize.core.exceptions import CrystallizeError
from crystallize.core.plan import RunSpec
from crystallize.store.errors import ArtifactNotFoundError
from crystallize.store.files import atomic_write
from crystallize.store.permissions import check_private, make_private_dirs
from crystallize.store.run_ids import resolve_run_id
from crystallize.store.schema import DB_NAME, connect, store_error

__all__ = ["ArtifactFactory", "RunArtifacts", "artifact_folder", "check_artifact_folder"]

_INDEX = ".index.json"

#: Full run ids already found in a database, by database file (ids never change).
_known_ids: dict[str, set[str]] = {}


def _segment(text: str) -> str:
    """``text`` as one safe path segment."""
    segment = quote(text, safe=" =+,@")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def artifact_folder(root: str | os.PathLike[str], run_id: str, condition: str, replicate: int) -> Path:
    """The folder of one run's artifacts inside the store folder ``root``.

    Raises:
        CrystallizeError: ``replicate`` is not a whole number.
    """
    try:
        number = int(replicate)
    except (TypeError, ValueError):
        raise CrystallizeError(f"replicate={replicate!r} is not valid: pass the replicate's number (0, 1, ...)") from None
    return Path(root) / "artifacts" / _segment(run_id) / _segment(condition) / str(number)


def check_artifact_folder(folder: Path) -> None:
    """Refuse a run's artifact folder (or the folders above it, up to ``artifacts/``)
    when other users can write it.

    Raises:
        InsecureStoreError: one of them is writable by others or owned by another user.
    """
    for level in (folder.parents[2], folder.parents[1], folder.parent, folder):
        check_private(level, "artifacts folder")


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name or name in (".", "..") or name.startswith(".") \
            or any(c in name for c in "/\\\0"):
        raise CrystallizeError(
            f"artifact name {name!r} is not valid: use a plain file name such as 'model.pkl' "
            "(no path separators, not starting with '.')"
        )
    return name


def _resolve_run(database: Path, prefix: object) -> str:
    """The experiment run that ``prefix`` names, looked up in ``database`` (never on disk)."""
    known = _known_ids.setdefault(str(database), set())
    if isinstance(prefix, str) and prefix in known:
        return prefix
    if not database.is_file():
        return resolve_run_id(None, prefix)
    conn = connect(database, create=False)
    try:
        run_id = resolve_run_id(conn, prefix)
    except sqlite3.Error as exc:
        raise store_error(database, exc) from exc
    finally:
        conn.close()
    known.add(run_id)
    return run_id


@dataclass(frozen=True)
class ArtifactFactory:
    """Makes each run's artifact sink; holds only strings, so it pickles to any worker.

    Args:
        root: the store folder.
        run_id: the experiment run the artifacts belong to.
        database: the store's database file (default: ``<root>/store.db``).
    """

    root: str
    run_id: str
    database: str = ""

    def __call__(self, spec: RunSpec) -> RunArtifacts:
        return RunArtifacts(self.root, self.run_id, spec.condition, spec.replicate, self.database)


class RunArtifacts:
    """The artifact sink of one run (``ctx.artifacts``).

    Attributes:
        saved: the names saved by this run so far, in order.
    """

    def __init__(self, root: str, run_id: str, condition: str, replicate: int, database: str = "") -> None:
        self._root = root  # paths are made when first used: most runs save nothing
        self._database = database
        self.run_id = run_id
        self.condition = condition
        self.replicate = replicate
        self.saved: list[str] = []

    @property
    def root(self) -> Path:
        """The store folder."""
        return Path(self._root)

    @property
    def database(self) -> Path:
        """The store's database file, where run ids are looked up."""
        return Path(self._database) if self._database else self.root / DB_NAME

    @property
    def folder(self) -> Path:
        """This run's artifact folder."""
        return artifact_folder(self.root, self.run_id, self.condition, self.replicate)

    def save(self, name: str, obj: Any) -> str:
        """Save ``obj`` as artifact ``name`` of this run; return the file's path.

        ``bytes`` are written as they are, an ``os.PathLike`` is copied, and
        any other object is pickled.
        """
        _check_name(name)
        folder = self.folder
        make_private_dirs(folder)
        check_artifact_folder(folder)
        target = folder / name
        if isinstance(obj, (bytes, bytearray, memoryview)):
            kind = "bytes"
            atomic_write(target, bytes(obj))
        elif isinstance(obj, os.PathLike):
            kind = "file"
            tmp = folder / f".{name}.copy"
            shutil.copyfile(os.fspath(obj), tmp)
            os.replace(tmp, target)
        else:
            kind = "pickle"
            atomic_write(target, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        index = _read_index(folder)
        index[name] = kind
        atomic_write(folder / _INDEX, json.dumps(index).encode())
        if name not in self.saved:
            self.saved.append(name)
        return str(target)

    def _locate(self, run_id: str | None, condition: str | None, replicate: int | None) -> Path:
        if run_id is None and condition is None and replicate is None:
            return self.folder
        run = _resolve_run(self.database, run_id) if run_id is not None else self.run_id
        return artifact_folder(self.root, run, self.condition if condition is None else condition,
                               self.replicate if replicate is None else replicate)

    def path(self, name: str, *, run_id: str | None = None, condition: str | None = None,
             replicate: int | None = None) -> Path:
        """The file of artifact ``name`` (of this run, or of the run given).

        Raises:
            ArtifactNotFoundError: no such artifact (lists the available ones).
        """
        return existing_artifact(self._locate(run_id, condition, replicate), name)

    def load(self, name: str, *, run_id: str | None = None, condition: str | None = None,
             replicate: int | None = None) -> Any:
        """Load artifact ``name`` of this run, or of another run.

        Args:
            name: the artifact's name.
            run_id: an earlier experiment run's id (or a unique prefix).
            condition: its condition (default: this run's condition).
            replicate: its replicate (default: this run's replicate).

        Returns:
            The object for pickled artifacts, else the file's bytes.

        Raises:
            ArtifactNotFoundError: no such artifact (lists the available ones).
            RunIdError: ``run_id`` names no experiment run of this store.
            InsecureStoreError: other users can write the artifact or its folders.
        """
        return read_artifact(self._locate(run_id, condition, replicate), name)

    def __repr__(self) -> str:
        return f"RunArtifacts({str(self.folder)!r}, saved={self.saved!r})"


def _read_index(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / _INDEX).read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def existing_artifact(folder: Path, name: str) -> Path:
    """``folder/name``, checked to exist.

    Raises:
        ArtifactNotFoundError: it does not (lists the artifacts in ``folder``).
    """
    _check_name(name)
    path = folder / name
    if not path.is_file():
        available = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) \
            if folder.is_dir() else []
        raise ArtifactNotFoundError(name, str(folder), available)
    return path


def read_artifact(folder: Path, name: str) -> Any:
    """The content of artifact ``name`` in ``folder``: the object if pickled, else bytes.

    Raises:
        ArtifactNotFoundError: there is no such artifact.
        InsecureStoreError: other users can write it or its folders.
    """
    path = existing_artifact(folder, name)
    check_artifact_folder(folder)
    check_private(path, "artifact")
    data = path.read_bytes()
    if _read_index(folder).get(name) == "pickle":
        return pickle.loads(data)
    return data
