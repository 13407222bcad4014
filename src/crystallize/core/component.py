"""What data sources and steps share: a name, params, a code fingerprint and a hash."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from crystallize.core.fingerprint import code_fingerprint, hash_value, params_of
from crystallize.core.injection import KeywordParams, _expose_for_pickle

__all__ = ["Component", "FunctionComponent", "FunctionFactory"]

#: Attributes the framework keeps on parts; the bound values are already in ``params``.
_FRAMEWORK_STATE = frozenset({"_keywords", "_bound", "_cacheable"})


class Component:
    """Identity of a user-supplied part of an experiment.

    The identity (:attr:`identity_hash`, :attr:`code_fingerprint`) is computed
    once and kept; :meth:`refresh_identity` computes it again from the part's
    current state, which ``Experiment`` does whenever a run starts, so an
    attribute changed after an earlier run (``step.factor = 10`` in a
    notebook) is a new identity: a new fingerprint, and never a cache hit on
    the old output.
    """

    @property
    def name(self) -> str:
        """The name shown in provenance and errors."""
        return type(self).__name__

    @property
    def params(self) -> Mapping[str, Any]:
        """Parameters that identify this part (default: public attributes)."""
        return params_of(self)

    @functools.cached_property
    def code_fingerprint(self) -> str:
        """Hash of the code that implements this part."""
        return code_fingerprint(self)

    @functools.cached_property
    def identity_hash(self) -> str:
        """Hash of name, params, private state and code: equal hashes mean the same part."""
        return hash_value([self.name, self.params, self._private_state(), self.code_fingerprint])

    def refresh_identity(self) -> str:
        """Compute the code fingerprint and the identity again from the current state; return the identity."""
        self.__dict__.pop("code_fingerprint", None)
        self.__dict__.pop("identity_hash", None)
        return self.identity_hash

    def _private_state(self) -> dict[str, Any]:
        """Underscored attributes: not shown as params, but they change what the part does."""
        return {k: v for k, v in vars(self).items() if k.startswith("_") and k not in _FRAMEWORK_STATE}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


class FunctionComponent(Component):
    """A part made from a decorated function; its keyword parameters come from the context."""

    max_positional = 1

    def __init__(self, fn: Callable[..., Any], bound: Mapping[str, Any]) -> None:
        self.fn = fn
        self._bound = dict(bound)
        self._keywords = KeywordParams(fn, bound, max_positional=self.max_positional)

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def params(self) -> Mapping[str, Any]:
        return self._keywords.static()

    @functools.cached_property
    def code_fingerprint(self) -> str:
        return code_fingerprint(self.fn)

    def _invoke(self, ctx: Any, kwargs: Mapping[str, Any], *leading: Any) -> Any:
        """Call the function with ``leading`` args, ``ctx`` if it takes one, and ``kwargs``."""
        if self._keywords.positional > len(leading):
            return self.fn(*leading, ctx, **kwargs)
        return self.fn(*leading, **kwargs)


class FunctionFactory:
    """What a decorator returns: holds the function; calling it makes the part."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]  # a callable object wraps fn
        self.fn = fn
        _expose_for_pickle(fn)
