"""Artifacts: files a step saves for its run (``ctx.artifacts``).

Each run owns the folder ``<store>/artifacts/<run_id>/<condition>/<replicate>/``.
``ctx.artifacts.save(name, obj)`` writes ``bytes`` as they are, copies a
file given as a :class:`pathlib.Path` (any ``os.PathLike``), and pickles any
other object (a ``str`` too); ``load(name)`` gives back the bytes (for bytes
and copied files) or the object. The names saved by a run are listed in its
record. Artifacts of an earlier experiment run are read with
``ctx.artifacts.load(name, run_id=..., condition=..., replicate=...)`` or
``crystallize.store.open(path).load_artifact(...)``. Pickled artifacts run
code when loaded: only load artifacts from stores you trust.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from crystallize.core.exceptions import CrystallizeError
from crystallize.core.plan import RunSpec
from crystallize.store.files import atomic_write
from crystallize.store.errors import ArtifactNotFoundError, RunIdError

__all__ = ["ArtifactFactory", "RunArtifacts", "artifact_folder"]

_INDEX = ".index.json"


def _segment(text: str) -> str:
    """``text`` as one safe path segment."""
    segment = quote(text, safe=" =+,@")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def artifact_folder(root: str | os.PathLike[str], run_id: str, condition: str, replicate: int) -> Path:
    """The folder of one run's artifacts inside the store folder ``root``."""
    return Path(root) / "artifacts" / run_id / _segment(condition) / str(int(replicate))


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name or name in (".", "..") or name.startswith(".") \
            or any(c in name for c in "/\\\0"):
        raise CrystallizeError(
            f"artifact name {name!r} is not valid: use a plain file name such as 'model.pkl' "
            "(no path separators, not starting with '.')"
        )
    return name


def _resolve_run(root: Path, prefix: str) -> str:
    """The run id in ``root/artifacts`` that ``prefix`` names (exact or unique prefix)."""
    folder = root / "artifacts"
    if (folder / prefix).is_dir():
        return prefix
    matches = sorted(p.name for p in folder.iterdir() if p.name.startswith(prefix)) if folder.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    raise RunIdError(prefix, matches, ambiguous=len(matches) > 1)


@dataclass(frozen=True)
class ArtifactFactory:
    """Makes each run's artifact sink; holds only strings, so it pickles to any worker.

    Args:
        root: the store folder.
        run_id: the experiment run the artifacts belong to.
    """

    root: str
    run_id: str

    def __call__(self, spec: RunSpec) -> RunArtifacts:
        return RunArtifacts(self.root, self.run_id, spec.condition, spec.replicate)


class RunArtifacts:
    """The artifact sink of one run (``ctx.artifacts``).

    Attributes:
        saved: the names saved by this run so far, in order.
    """

    def __init__(self, root: str, run_id: str, condition: str, replicate: int) -> None:
        self.root = Path(root)
        self.run_id = run_id
        self.condition = condition
        self.replicate = replicate
        self.saved: list[str] = []

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
        folder.mkdir(parents=True, exist_ok=True)
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
        run = _resolve_run(self.root, run_id) if run_id is not None else self.run_id
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
    """The content of artifact ``name`` in ``folder``: the object if pickled, else bytes."""
    path = existing_artifact(folder, name)
    data = path.read_bytes()
    if _read_index(folder).get(name) == "pickle":
        return pickle.loads(data)
    return data
