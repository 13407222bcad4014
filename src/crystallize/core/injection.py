"""Keyword parameters of decorated functions, filled from the run's context."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from crystallize.core.exceptions import ExperimentDefinitionError, suggest

__all__ = ["KeywordParams"]


def _expose_for_pickle(fn: Callable[..., Any]) -> None:
    """Let pickle find a decorated function by reference.

    The decorator replaces ``module.name`` with a factory holding the function
    as ``.fn``; pointing the function's qualified name there keeps it
    importable, so steps defined in a module pickle by reference.
    """
    if "<locals>" not in fn.__qualname__ and "." not in fn.__qualname__:
        fn.__qualname__ = f"{fn.__qualname__}.fn"


class KeywordParams:
    """The keyword-only parameters of ``fn`` and their bound defaults.

    At call time each parameter takes the context's value when the context
    holds that key (a treatment that sets it changes it), else its default.
    """

    __slots__ = ("names", "defaults", "positional")

    def __init__(self, fn: Callable[..., Any], bound: Mapping[str, Any], *, max_positional: int) -> None:
        sig = inspect.signature(fn)
        self.positional = sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
            for p in sig.parameters.values()
        )
        if self.positional > max_positional:
            raise ExperimentDefinitionError(
                f"{fn.__qualname__} takes {self.positional} positional parameters; at most "
                f"{max_positional} are allowed (make the others keyword-only, after `*`)"
            )
        self.defaults: dict[str, Any] = {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind == p.KEYWORD_ONLY or (p.kind == p.POSITIONAL_OR_KEYWORD and p.default is not p.empty)
        }
        self.names = tuple(self.defaults)
        for key in bound:
            if key not in self.defaults:
                raise ExperimentDefinitionError(
                    f"{fn.__qualname__} has no keyword parameter {key!r}{suggest(key, self.names)}; "
                    f"its parameters: {', '.join(self.names) or 'none'}"
                )
        self.defaults.update(bound)

    def resolve(self, ctx: Any) -> dict[str, Any]:
        """The keyword values for one call: the context's where it has the key."""
        values = {}
        for name in self.names:
            if name in ctx:
                values[name] = ctx[name]
            else:
                value = self.defaults[name]
                if value is inspect.Parameter.empty:
                    raise KeyError(
                        f"keyword parameter {name!r} has no default and the context has no key {name!r}"
                    )
                values[name] = value
        return values

    def static(self) -> dict[str, Any]:
        """The bound defaults (what ``params`` reports before any run)."""
        return {k: (None if v is inspect.Parameter.empty else v) for k, v in self.defaults.items()}
