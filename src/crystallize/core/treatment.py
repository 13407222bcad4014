"""A treatment: a named change to the run's context."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from crystallize.core.context import RESERVED_KEYS, FrozenContext
from crystallize.core.exceptions import ContextMutationError, ExperimentDefinitionError
from crystallize.core.fingerprint import code_fingerprint, hash_value
from crystallize.core.sweep import SweepKind, sweep_name, sweep_values

__all__ = ["RESERVED_CONDITIONS", "Treatment"]

#: Names no treatment may take: they are keys of ``result.metrics``.
RESERVED_CONDITIONS: frozenset[str] = frozenset({"baseline", "hypothesis"})


_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), frozenset)


def _fresh(value: Any) -> Any:
    """A private copy of a mutable value, so no run can change another run's input."""
    return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)


@dataclass(frozen=True, slots=True)
class Treatment:
    """A named change to the context, applied before every run of its condition.

    Args:
        name: the condition's name in results.
        apply_fn: ``fn(ctx)`` that adds keys to the context, or a mapping of
            keys to values (each run gets its own copy of mutable values; a
            function should likewise create fresh objects).

    Examples:
        >>> Treatment("high_lr", {"learning_rate": 0.01})
        Treatment(name='high_lr', values={'learning_rate': 0.01})
        >>> Treatment("high_lr", lambda ctx: ctx.__setitem__("learning_rate", 0.01)).name
        'high_lr'
    """

    name: str
    apply_fn: Callable[[FrozenContext], Any] | Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ExperimentDefinitionError(f"a treatment needs a non-empty string name, got {self.name!r}")
        if isinstance(self.apply_fn, Mapping):
            object.__setattr__(self, "apply_fn", MappingProxyType(dict(self.apply_fn)))
        elif not callable(self.apply_fn):
            raise ExperimentDefinitionError(
                f"treatment {self.name!r}: apply_fn must be a function of ctx or a mapping, "
                f"got {type(self.apply_fn).__name__}"
            )

    @classmethod
    def grid(cls, axes: Mapping[str, Iterable[Any]] | None = None, /, **named: Iterable[Any]) -> list[Treatment]:
        """One treatment per combination of the axes' values (a full factorial design).

        Each is named after what it sets, ``key=value`` joined by commas in
        axis order, values in a short repr-like form (``lr=0.001,depth=2``);
        the first axis varies slowest. The summary and the report show the
        grid's verdicts as a table over its axes, and the multiple-comparison
        correction covers every treatment of the grid.

        Args:
            axes: context key to its values, for keys that are not identifiers.
            **named: context key to its values.

        Raises:
            ExperimentDefinitionError: no axis, an axis without values, a
                reserved key, or two combinations with one name.

        Examples:
            >>> [t.name for t in Treatment.grid(lr=[1e-3, 1e-2], depth=[2, 4])]
            ['lr=0.001,depth=2', 'lr=0.001,depth=4', 'lr=0.01,depth=2', 'lr=0.01,depth=4']
        """
        return cls._sweep("grid", {**(axes or {}), **named})

    @classmethod
    def zip(cls, axes: Mapping[str, Iterable[Any]] | None = None, /, **named: Iterable[Any]) -> list[Treatment]:
        """One treatment per position: the i-th value of every axis together (axes of one length).

        Named like :meth:`grid`'s treatments.

        Examples:
            >>> [t.name for t in Treatment.zip(lr=[1e-3, 1e-2], depth=[2, 4])]
            ['lr=0.001,depth=2', 'lr=0.01,depth=4']
        """
        return cls._sweep("zip", {**(axes or {}), **named})

    @classmethod
    def _sweep(cls, kind: SweepKind, axes: Mapping[str, Iterable[Any]]) -> list[Treatment]:
        return [cls(sweep_name(values), values) for values in sweep_values(kind, axes)]

    @property
    def values(self) -> Mapping[str, Any] | None:
        """The mapping this treatment sets, or ``None`` for a function."""
        return self.apply_fn if isinstance(self.apply_fn, Mapping) else None

    def apply(self, ctx: FrozenContext) -> None:
        """Apply the change to ``ctx`` (reserved keys refused), then freeze it.

        Raises:
            ContextMutationError: the treatment wrote a reserved key.
        """
        ctx._open_for(self.name)  # noqa: SLF001 - treatments are the one writer
        try:
            if isinstance(self.apply_fn, Mapping):
                for key, value in self.apply_fn.items():
                    if key in RESERVED_KEYS:
                        raise ContextMutationError(key, treatment=self.name, reason="this key is reserved")
                    ctx[key] = _fresh(value)
            else:
                self.apply_fn(ctx)
        finally:
            ctx._freeze()  # noqa: SLF001

    @property
    def fingerprint(self) -> str:
        """Hash of what the treatment changes (its values, or its function's code)."""
        if isinstance(self.apply_fn, Mapping):
            return hash_value(["values", dict(self.apply_fn)])
        return hash_value(["code", code_fingerprint(self.apply_fn)])

    def describe(self) -> Any:
        """The treatment as JSON-ready data for provenance."""
        if isinstance(self.apply_fn, Mapping):
            return {"name": self.name, "values": dict(self.apply_fn)}
        return {"name": self.name, "code": code_fingerprint(self.apply_fn)}

    def __repr__(self) -> str:
        if isinstance(self.apply_fn, Mapping):
            return f"Treatment(name={self.name!r}, values={dict(self.apply_fn)!r})"
        return f"Treatment(name={self.name!r}, apply_fn={getattr(self.apply_fn, '__qualname__', self.apply_fn)})"
