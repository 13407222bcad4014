"""Errors of the run store, under :class:`~crystallize.core.exceptions.CrystallizeError`."""

from __future__ import annotations

from collections.abc import Sequence

from crystallize.core.exceptions import CrystallizeError

__all__ = [
    "ArtifactNotFoundError",
    "DefinitionChangedError",
    "RunIdError",
    "StoreError",
    "StoreNotFoundError",
    "StoreVersionError",
]


class StoreError(CrystallizeError):
    """The run store cannot do what was asked."""


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
