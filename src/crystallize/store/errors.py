"""Errors of the run store, under :class:`~crystallize.core.exceptions.CrystallizeError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crystallize.core.exceptions import CrystallizeError, CrystallizeWarning

__all__ = [
    "ArtifactNotFoundError",
    "DefinitionChangedError",
    "ExperimentRunBusyError",
    "InsecureStoreError",
    "OptionalStoppingWarning",
    "PackageVersionsChangedWarning",
    "RunIdError",
    "StoreDamagedError",
    "StoreError",
    "StoreNotFoundError",
    "StoreVersionError",
    "StoreWriteError",
]


class StoreError(CrystallizeError):
    """The run store cannot do what was asked.

    Attributes:
        path: the store's database file or folder, when known.
    """

    path: str | None = None


class StoreDamagedError(StoreError):
    """The store's database (or its write-ahead log, or one of its cells) is damaged."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"the store {path} is damaged: {detail}")


class StoreWriteError(StoreError):
    """Runs could not be recorded (a full disk, a read-only or deleted store file).

    Nothing computed is lost: the result is kept on the error.

    Attributes:
        path: the store's database file.
        result: the experiment's :class:`~crystallize.core.result.Result`
            (every run, and the verdicts), or ``None`` when the failure came
            before any run.
        run_id: the experiment run being recorded, if any.
    """

    def __init__(self, path: str, detail: str, *, result: Any = None, run_id: str | None = None) -> None:
        self.path = path
        self.detail = detail
        self.result = result
        self.run_id = run_id
        kept = ""
        if result is not None:
            runs = len(getattr(result, "records", ()))
            kept = (f"; nothing computed is lost: the result ({runs} runs) is on this error's .result "
                    "(save it with .result.to_json(path))")
        super().__init__(f"could not record experiment run {run_id or '(new)'} in the store {path}: {detail}{kept}")


class InsecureStoreError(StoreError):
    """A store, cache or artifacts folder (or the database) can be written by other users.

    Like ssh with ``~/.ssh``: another user who can write there could replace
    cache entries or artifacts, which are pickles and run code when loaded.
    """

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"refusing to use {path}: {problem}; other users could plant pickles that run code as you. "
                         f"Run: {fix}")


class ExperimentRunBusyError(StoreError):
    """Another live process holds the lease on the experiment run to resume."""

    def __init__(self, path: str, run_id: str, name: str, holder: str, age: float, timeout: float) -> None:
        self.path = path
        self.run_id = run_id
        self.holder = holder
        super().__init__(
            f"experiment run {run_id} of {name!r} in {path} is being run by another process ({holder}, "
            f"last heartbeat {age:.0f} s ago); resuming it now would run its remaining runs twice. Wait for it "
            f"to finish, then resume again (a lease whose process died is taken over at once on the same host, "
            f"after {timeout:.0f} s without a heartbeat from another host)"
        )


class OptionalStoppingWarning(CrystallizeWarning):
    """A stored experiment run whose verdicts were already computed is being extended.

    Adding replicates after looking at the verdicts, and stopping once one is
    accepted, inflates the false-positive rate (5% becomes about 16.5% with 6
    looks); the verdicts of a fixed design assume the replicate count was
    decided in advance.
    """


OptionalStoppingWarning.__module__ = "crystallize.store"


class PackageVersionsChangedWarning(CrystallizeWarning):
    """A stored experiment run is resumed with other versions of the packages it imported.

    The runs recorded before and those run now then come from different
    library code (a scikit-learn upgrade can move every metric), though the
    experiment's own definition is unchanged. The message names each package
    with the version stored and the version now.
    """


PackageVersionsChangedWarning.__module__ = "crystallize.store"


class StoreNotFoundError(StoreError, FileNotFoundError):
    """No store exists at the given path."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"no crystallize store at {path!r} (no store.db there); run an experiment first, "
            "or pass the folder given as run(store=...)"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class StoreVersionError(StoreError):
    """The store was written by a newer version of crystallize."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"the store {path!r} has schema version {found}, written by a newer crystallize; this version "
            f"reads schema versions up to {supported}. Upgrade crystallize, or use another store path"
        )


class RunIdError(StoreError, KeyError):
    """A run id (or prefix) matches no experiment run, or more than one.

    Attributes:
        prefix: the id or prefix that was looked up.
        candidates: the ids it matched (empty when none), or recent ids.
    """

    def __init__(self, prefix: str, candidates: Sequence[str], *, ambiguous: bool) -> None:
        self.prefix = prefix
        self.candidates = list(candidates)
        self.ambiguous = ambiguous
        shown = ", ".join(self.candidates[:10]) + (", ..." if len(self.candidates) > 10 else "")
        if ambiguous:
            message = (f"run id prefix {prefix!r} is ambiguous: it matches {len(self.candidates)} experiment runs "
                       f"({shown}); give more characters")
        else:
            message = (f"no experiment run has an id starting with {prefix!r}; "
                       + (f"recent ids: {shown}" if self.candidates else "the store holds no experiment runs yet"))
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DefinitionChangedError(StoreError):
    """``resume=True`` found an earlier run of the same name with another definition.

    Attributes:
        name: the experiment's name.
        run_id: the earlier experiment run.
        changes: one line per difference (a step's code or params, a treatment,
            the data source, the seed).
    """

    def __init__(self, name: str, run_id: str, changes: Sequence[str]) -> None:
        self.name = name
        self.run_id = run_id
        self.changes = list(changes)
        listed = "\n".join(f"  - {c}" for c in self.changes) or "  - (the fingerprint differs)"
        super().__init__(
            f"cannot resume experiment {name!r}: its definition changed since experiment run {run_id}:\n{listed}\n"
            "Resuming would mix runs of two different experiments. Restore the previous definition to resume, "
            "run without resume=True to start a new experiment run, or, if this is another experiment, give it "
            "its own name= (experiment runs are matched by name)."
        )


class ArtifactNotFoundError(StoreError, FileNotFoundError):
    """An artifact was asked for that no run saved."""

    def __init__(self, name: str, where: str, available: Sequence[str]) -> None:
        self.name = name
        self.available = list(available)
        listed = ", ".join(map(repr, self.available)) or "none"
        super().__init__(f"no artifact {name!r} in {where}; artifacts there: {listed}")

    def __str__(self) -> str:
        return str(self.args[0])
