"""Where a result came from: definition hashes, seeds, code, environment, git.

The environment names the version of every installed distribution whose
modules the process has imported when a run starts (scikit-learn as much as
NumPy), not a fixed list, so two runs on different library versions never
look alike.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import re
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["VersionChange", "environment", "git_state", "imported_distributions", "version_changes"]

log = logging.getLogger("crystallize")

#: Always recorded: the framework that ran the experiment (an editable install included).
_ALWAYS = ("crystallize",)

#: The top-level names a wheel's RECORD installs: ``name/...``, ``name.py`` or ``name.<tag>.so``.
_RECORD_TOP = re.compile(r"^([A-Za-z_]\w*)(?:/|\.py,|\.[\w.-]+\.(?:so|pyd),)", re.MULTILINE)


@functools.lru_cache(maxsize=1)
def _platform() -> dict[str, str]:
    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "platform": platform.platform(), "host": socket.gethostname()}


def environment() -> dict[str, Any]:
    """Python, platform, host and the version of every imported distribution
    (:func:`imported_distributions`)."""
    return {**_platform(), "packages": imported_distributions()}


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return None


def _top_level_names(info: str) -> set[str]:
    """The top-level modules a ``.dist-info`` (or ``.egg-info``) folder's distribution installs."""
    listed = _read(os.path.join(info, "top_level.txt"))
    if listed is not None:
        return set(listed.split())
    return set(_RECORD_TOP.findall(_read(os.path.join(info, "RECORD")) or ""))


@functools.lru_cache(maxsize=64)
def _owners_in(folder: str, mtime_ns: int) -> dict[str, tuple[str, ...]]:
    """``{top-level module: (metadata folder, ...)}`` of the distributions installed in
    ``folder``; cached until the folder changes (an install or uninstall renames entries)."""
    del mtime_ns  # part of the cache key only
    owners: dict[str, list[str]] = {}
    try:
        entries = sorted(e.path for e in os.scandir(folder) if e.name.endswith((".dist-info", ".egg-info")))
    except OSError:
        return {}
    for info in entries:
        for name in _top_level_names(info):
            owners.setdefault(name, []).append(info)
    return {name: tuple(infos) for name, infos in owners.items()}


@functools.lru_cache(maxsize=4096)
def _name_version(info: str) -> tuple[str, str] | None:
    """The distribution's own name and version, from its metadata folder."""
    try:
        dist = metadata.Distribution.at(info)
        name, version = dist.metadata["Name"], dist.version
    except Exception:  # noqa: BLE001 - unreadable metadata: the distribution is left out
        return None
    return (str(name), str(version)) if name and version else None


def _search_path() -> list[str]:
    return [os.path.abspath(p or os.curdir) for p in sys.path if isinstance(p, str)]


def _owners() -> dict[str, list[str]]:
    """Top-level module name to the metadata folders that claim it, over ``sys.path`` in order."""
    owners: dict[str, list[str]] = {}
    for folder in dict.fromkeys(_search_path()):
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            continue
        if os.path.isdir(folder):
            for name, infos in _owners_in(folder, mtime).items():
                owners.setdefault(name, []).extend(infos)
    return owners


def _where(module: Any) -> set[str]:
    """The folders on the search path that a module was imported from."""
    file = getattr(module, "__file__", None)
    if isinstance(file, str):
        parent = os.path.dirname(os.path.abspath(file))
        return {os.path.dirname(parent) if os.path.basename(file).startswith("__init__.") else parent}
    return {os.path.dirname(os.path.abspath(p)) for p in getattr(module, "__path__", None) or () if isinstance(p, str)}


def imported_distributions() -> dict[str, str]:
    """``{distribution: version}`` of every installed distribution that a top-level
    module in ``sys.modules`` belongs to, plus crystallize itself, sorted by name.

    It answers what :func:`importlib.metadata.packages_distributions` would for
    the imported modules, but reads each folder's metadata once per process
    and again only when the folder changes, and reads the file list (``RECORD``)
    as text: about 10 ms the first time and 0.5 ms after that, where
    ``packages_distributions()`` parses every file list of every installed
    distribution (about 0.1 s) at each call. When two distributions claim one
    name, the one installed where the module was imported from is recorded.
    """
    owners = _owners()
    infos: list[str] = []
    for name, module in list(sys.modules.items()):  # a copy: another thread may be importing
        if "." in name or module is None or name not in owners:
            continue
        claims = owners[name]
        here = _where(module)
        local = [info for info in claims if os.path.dirname(info) in here]
        infos.extend(local or claims)
    for name in _ALWAYS:
        infos.extend(owners.get(name, ())[:1])
    found: dict[str, str] = {}
    for info in dict.fromkeys(infos):
        known = _name_version(info)
        if known is not None:
            found.setdefault(*known)
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


class VersionChange(NamedTuple):
    """A package (or ``"Python"``) whose version differs between two environments."""

    package: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        """``scikit-learn 1.5.2 -> 1.6.1``, ``pyarrow added (26.0.1)`` or ``dask removed (was 2024.8.0)``."""
        if self.before is None:
            return f"{self.package} added ({self.after})"
        if self.after is None:
            return f"{self.package} removed (was {self.before})"
        return f"{self.package} {self.before} -> {self.after}"


def version_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *,
                    common_only: bool = False) -> list[VersionChange]:
    """The versions that differ between two recorded environments (``provenance["environment"]``).

    Args:
        before: the earlier environment.
        after: the later one.
        common_only: leave out packages recorded in only one of them (imported
            by one run and not the other).

    Returns:
        Python first if it changed, then each package by name; ``None`` where a
        package is not recorded.
    """
    old, new = dict(before or {}), dict(after or {})
    changes = []
    if old.get("python") and new.get("python") and old["python"] != new["python"]:
        changes.append(VersionChange("Python", old["python"], new["python"]))
    old_packages, new_packages = dict(old.get("packages") or {}), dict(new.get("packages") or {})
    names: Iterable[str] = sorted(set(old_packages) | set(new_packages), key=str.lower)
    for name in names:
        a, b = old_packages.get(name), new_packages.get(name)
        if a != b and not (common_only and (a is None or b is None)):
            changes.append(VersionChange(name, None if a is None else str(a), None if b is None else str(b)))
    return changes


def git_state(path: str | Path | None = None) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git work tree holding ``path``, else ``None``."""
    cwd = Path(path or Path.cwd())
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"], cwd=cwd,
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.splitlines()
    commit = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    if commit is None or commit == "(initial)":
        return None
    return {"commit": commit, "dirty": any(not line.startswith("#") for line in lines)}
