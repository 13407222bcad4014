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
        label = getattr(fn, "__name__", repr(fn))
        params = list(inspect.signature(fn).parameters.values())
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        # data and ctx are passed positionally: required ones, and a `ctx` even with a default
        slots = [p for p in positional if p.default is p.empty or p.name == "ctx"]
        self.positional = len(slots)
        if self.positional > max_positional:
            raise ExperimentDefinitionError(
                f"{label} takes {self.positional} positional parameters; at most {max_positional} are "
                "allowed (make the others keyword-only, after `*`)"
            )
        if max_positional == 2 and self.positional == 0:
            raise ExperimentDefinitionError(f"step {label} must take the data as its first parameter: "
                                            f"def {label}(data, ctx, *, ...)")
        self.defaults: dict[str, Any] = {
            p.name: p.default for p in params
            if p not in slots and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }
        self.names = tuple(self.defaults)
        for key in bound:
            if key not in self.defaults:
                raise ExperimentDefinitionError(
                    f"{label} has no keyword parameter {key!r}{suggest(key, self.names)}; "
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
