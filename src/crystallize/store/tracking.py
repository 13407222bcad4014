"""What a cacheable step looks at: context keys (present or absent), random
state, and the keys it adds.

The step cache runs a step on a miss with a :class:`TrackingContext`, a view
of the run's context that records every key the step asks for (``ctx[k]``,
``ctx.get(k)``, ``k in ctx``, also when the key is absent), whether it
looked at all keys, whether it drew from ``ctx.rng``, and which keys it
added. Together with the global random state before and after the step, this
is what the cache keys on and replays.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from crystallize.core.context import FrozenContext

__all__ = ["TrackingContext", "global_state", "restore_global_state", "same_global_state"]

GlobalState = tuple[Any, Any]


class TrackingContext(FrozenContext):
    """A view of ``inner`` that records what a step reads and writes.

    It shares ``inner``'s keys, seed, generator and artifact sink, so the step
    behaves exactly as with the plain context.

    Attributes:
        keys_read: every key asked for, in order (present or not).
        read_all: the step iterated the context or took all of it.
        writes: the keys the step added, with their values.
        rng_entry: the state of ``ctx.rng`` when the step first used it
            (``None``: it did not).
    """

    __slots__ = ("_inner", "keys_read", "read_all", "writes", "rng_entry")

    def __init__(self, inner: FrozenContext) -> None:  # noqa: D107 - documented on the class
        # Share the inner context's state instead of copying it.
        self._inner = inner
        self._data = inner._data
        self._reads = None
        self._touched = None
        self._seed = inner._seed
        self._rng = None
        self._protected = None
        self._writer = None
        self.artifacts = inner.artifacts
        self.keys_read: dict[str, None] = {}
        self.read_all = False
        self.writes: dict[str, Any] = {}
        self.rng_entry: Mapping[str, Any] | None = None

    def __getitem__(self, key: str) -> Any:
        self.keys_read[key] = None
        return self._inner[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.keys_read[key] = None
        return self._inner.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.keys_read[key] = None
        return key in self._inner

    def __iter__(self) -> Iterator[str]:
        self.read_all = True
        return iter(self._inner)

    def __len__(self) -> int:
        self.read_all = True
        return len(self._inner)

    def keys(self) -> list[str]:
        self.read_all = True
        return self._inner.keys()

    def as_dict(self) -> Mapping[str, Any]:
        self.read_all = True
        return self._inner.as_dict()

    @property
    def rng(self) -> np.random.Generator:
        generator = self._inner.rng
        if self.rng_entry is None:
            self.rng_entry = generator.bit_generator.state
        return generator

    def __setitem__(self, key: str, value: Any) -> None:
        self._inner[key] = value
        self.writes[key] = value

    def __delitem__(self, key: str) -> None:
        del self._inner[key]

    def copy(self) -> FrozenContext:
        self.read_all = True
        return self._inner.copy()

    def track_reads(self) -> set[str]:
        return self._inner.track_reads()

    def stop_tracking(self) -> None:
        self._inner.stop_tracking()

    def __repr__(self) -> str:
        self.read_all = True
        return repr(self._inner)


def global_state() -> GlobalState:
    """The state of Python's ``random`` and NumPy's global generator."""
    return random.getstate(), np.random.get_state()


def same_global_state(a: GlobalState, b: GlobalState) -> bool:
    """Whether two :func:`global_state` snapshots are equal."""
    if a[0] != b[0]:
        return False
    (kind_a, keys_a, *rest_a), (kind_b, keys_b, *rest_b) = a[1], b[1]
    return bool(kind_a == kind_b and rest_a == rest_b and np.array_equal(keys_a, keys_b))


def restore_global_state(state: GlobalState) -> None:
    """Set Python's ``random`` and NumPy's global generator to ``state``."""
    random.setstate(state[0])
    np.random.set_state(state[1])
