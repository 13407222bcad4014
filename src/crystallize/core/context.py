"""The run's parameters: a context whose existing keys never change."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from crystallize.core.exceptions import ContextMutationError, CrystallizeError, suggest

__all__ = ["RESERVED_KEYS", "ArtifactSink", "FrozenContext"]

#: Keys the framework sets for every run; no treatment may write them.
RESERVED_KEYS: frozenset[str] = frozenset({"replicate", "condition", "seed"})


class ArtifactSink(Protocol):
    """Where a step saves files that belong to its run (``ctx.artifacts``)."""

    def save(self, name: str, obj: Any) -> str: ...

    def load(self, name: str, **where: Any) -> Any: ...


class _NoArtifacts:
    """Null artifact sink used when the run has no store."""

    def save(self, name: str, obj: Any) -> str:
        raise CrystallizeError(
            f"cannot save artifact {name!r}: this run has no store; run the experiment "
            "with a store (the default) instead of store=False"
        )

    def load(self, name: str, **where: Any) -> Any:
        raise CrystallizeError(f"cannot load artifact {name!r}: this run has no store")


_NO_ARTIFACTS = _NoArtifacts()


class FrozenContext:
    """Parameters of one run; new keys may be added, existing keys never change.

    The framework builds a fresh context for every run holding ``replicate``,
    ``condition`` and ``seed``; a treatment writes into a clone before it is
    frozen. Every key read is recorded (``reads``) so the step cache can key on
    exactly the values a step used.

    Args:
        initial: the starting keys and values.
        seed: the run's seed; ``ctx.rng`` is a ``numpy.random.Generator`` made
            from it on first use.

    Examples:
        >>> ctx = FrozenContext({"lr": 0.1})
        >>> ctx["momentum"] = 0.9
        >>> ctx["lr"] = 0.2
        Traceback (most recent call last):
        ...
        crystallize.core.exceptions.ContextMutationError: tried to change context key 'lr': ...
    """

    __slots__ = ("_data", "_reads", "_touched", "_seed", "_rng", "_protected", "_writer", "artifacts")

    def __init__(self, initial: Mapping[str, Any] | None = None, *, seed: int | None = None) -> None:
        self._data: dict[str, Any] = dict(initial or {})
        self._reads: set[str] | None = None
        self._touched: set[str] | None = None
        self._seed = seed if seed is not None else self._data.get("seed")
        self._rng: np.random.Generator | None = None
        self._protected: frozenset[str] | None = None
        self._writer: str | None = None
        self.artifacts: ArtifactSink = _NO_ARTIFACTS

    # -- reading -----------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        try:
            value = self._data[key]
        except KeyError:
            raise KeyError(f"context has no key {key!r}{suggest(key, self._data)}") from None
        if self._reads is not None:
            self._reads.add(key)
        if self._touched is not None:
            self._touched.add(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """Return ``ctx[key]`` if present, else ``default``."""
        if key in self._data:
            return self[key]
        if self._touched is not None:
            self._touched.add(key)
        return default

    def __contains__(self, key: object) -> bool:
        if self._touched is not None and isinstance(key, str):
            self._touched.add(key)
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        self._touch_all()
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> list[str]:
        """The context's keys, in insertion order."""
        self._touch_all()
        return list(self._data)

    def as_dict(self) -> Mapping[str, Any]:
        """A read-only view of every key and value."""
        self._touch_all()
        return MappingProxyType(self._data)

    def _values(self) -> Mapping[str, Any]:
        """Every key and value, for the framework (not counted as reads)."""
        return MappingProxyType(self._data)

    def _touch_all(self) -> None:
        if self._touched is not None:
            self._touched.update(self._data)

    def watch_reads(self) -> set[str]:
        """Start noting every key anyone reads (unlike :meth:`track_reads`,
        never reset by the step cache); returns the live set."""
        self._touched = set()
        return self._touched

    @property
    def rng(self) -> np.random.Generator:
        """A ``numpy.random.Generator`` seeded with the run's seed."""
        if self._rng is None:
            self._rng = np.random.default_rng(self._seed)
        return self._rng

    # -- writing -----------------------------------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        if self._protected is not None and key in self._protected:
            raise ContextMutationError(key, treatment=self._writer, reason="this key is reserved")
        if self._protected is None and key in self._data:
            raise ContextMutationError(key, treatment=self._writer)
        self._data[key] = value

    def add(self, key: str, value: Any) -> None:
        """Add a new key (same as ``ctx[key] = value``)."""
        self[key] = value

    def __delitem__(self, key: str) -> None:
        raise ContextMutationError(key, treatment=self._writer, reason="keys cannot be removed")

    # -- lifecycle (used by the framework) ----------------------------------
    def _open_for(self, writer: str, protected: frozenset[str] = RESERVED_KEYS) -> FrozenContext:
        """Allow ``writer`` (a treatment) to set any key but ``protected``."""
        self._protected = protected
        self._writer = writer
        return self

    def _freeze(self) -> FrozenContext:
        """Forbid changes to every existing key from now on."""
        self._protected = None
        self._writer = None
        return self

    def track_reads(self) -> set[str]:
        """Start recording reads; returns the live set of keys read."""
        self._reads = set()
        return self._reads

    def reset_rng(self) -> None:
        """Restart ``ctx.rng`` from the seed (after a treatment drew from it)."""
        self._rng = None

    def stop_tracking(self) -> None:
        """Stop recording reads."""
        self._reads = None

    def copy(self) -> FrozenContext:
        """A frozen copy with the same keys and seed."""
        clone = FrozenContext(self._data, seed=self._seed)
        clone.artifacts = self.artifacts
        return clone

    def __repr__(self) -> str:
        items = list(self._data.items())
        shown = ", ".join(f"{k}={v!r}" for k, v in items[:10])
        more = f", ... {len(items) - 10} more" if len(items) > 10 else ""
        return f"FrozenContext({shown}{more})"
