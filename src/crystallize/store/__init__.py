"""The run store: every run recorded, resume, artifacts and the step cache.

``experiment.run()`` records into ``./.crystallize/`` by default (a SQLite
file ``store.db`` beside ``artifacts/`` and ``cache/``); ``store=PATH`` picks
another folder and ``store=False`` records nothing. :func:`open` reads a
store back.

The step cache and pickled artifacts are local pickle files: loading them
runs code, like importing a module. They are trusted like your own code, so
only use stores you (or people you trust) wrote. The store creates its
folders and database readable by its owner only, and refuses a store, cache
or artifacts folder that other users can write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from crystallize.store.artifacts import ArtifactFactory, RunArtifacts
from crystallize.store.base import NullStore, RunStore
from crystallize.store.cache import FileStepCache
from crystallize.store.code import CodeFile
from crystallize.store.errors import (
    ArtifactNotFoundError,
    DefinitionChangedError,
    ExperimentRunBusyError,
    InsecureStoreError,
    OptionalStoppingWarning,
    PackageVersionsChangedWarning,
    RunIdError,
    StoreDamagedError,
    StoreError,
    StoreNotFoundError,
    StoreVersionError,
    StoreWriteError,
)
from crystallize.store.reader import ExperimentInfo, ExperimentRunInfo, Store
from crystallize.store.sqlite import SQLiteStore

__all__ = [
    "DEFAULT_PATH",
    "ArtifactFactory",
    "ArtifactNotFoundError",
    "CodeFile",
    "DefinitionChangedError",
    "ExperimentInfo",
    "ExperimentRunBusyError",
    "ExperimentRunInfo",
    "FileStepCache",
    "InsecureStoreError",
    "NullStore",
    "OptionalStoppingWarning",
    "PackageVersionsChangedWarning",
    "RunArtifacts",
    "RunIdError",
    "RunStore",
    "SQLiteStore",
    "Store",
    "StoreDamagedError",
    "StoreError",
    "StoreNotFoundError",
    "StoreVersionError",
    "StoreWriteError",
    "open",
    "resolve_store",
]

#: Where ``experiment.run()`` records by default, relative to the working directory.
DEFAULT_PATH = ".crystallize"


def open(path: str | os.PathLike[str] = DEFAULT_PATH) -> Store:  # noqa: A001 - the public name
    """Open the store at ``path`` for reading.

    Raises:
        StoreNotFoundError: there is no store at ``path``.
        StoreVersionError: it was written by a newer crystallize.
    """
    return Store(path)


def resolve_store(store: Any) -> RunStore:
    """A store from the ``store=`` argument of ``Experiment.run``.

    ``None`` (or ``True``) means the default store in ``./.crystallize``, a
    path means a store there, ``False`` means none; an object with ``begin``
    is used as it is.

    Raises:
        TypeError: ``store`` is none of these.
    """
    if store is False:
        return NullStore()
    if store is None or store is True:
        return SQLiteStore(Path.cwd() / DEFAULT_PATH)
    if isinstance(store, (str, os.PathLike)):
        return SQLiteStore(store)
    if hasattr(store, "begin"):
        return store  # type: ignore[no-any-return]
    raise TypeError(
        f"store={store!r} is not supported; pass None (the default store in ./{DEFAULT_PATH}), "
        "a folder path, False (no store), or a RunStore"
    )
