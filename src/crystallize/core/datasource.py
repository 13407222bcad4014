"""Where a run's data comes from: ``fetch(ctx) -> data``."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from crystallize.core.fingerprint import code_fingerprint, hash_value, params_of
from crystallize.core.injection import KeywordParams, _expose_for_pickle

__all__ = ["DataSource", "FunctionDataSource", "data_source"]


class DataSource(ABC):
    """Produces the input of the pipeline for one run.

    Subclass it and implement ``fetch(ctx)``, or decorate a function with
    :func:`data_source`. Use ``ctx.rng`` (or the seeded global generators)
    for any randomness so replicates are reproducible.
    """

    @abstractmethod
    def fetch(self, ctx: Any) -> Any:
        """Return the data for the run described by ``ctx``."""

    @property
    def name(self) -> str:
        """The data source's name in provenance and errors."""
        return type(self).__name__

    @property
    def params(self) -> Mapping[str, Any]:
        """Parameters that identify this source (default: public attributes)."""
        return params_of(self)

    @functools.cached_property
    def code_fingerprint(self) -> str:
        """Hash of the code that implements the source."""
        return code_fingerprint(self)

    @property
    def source_hash(self) -> str:
        """Hash of name, params and code."""
        return hash_value([self.name, self.params, self.code_fingerprint])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


class FunctionDataSource(DataSource):
    """A data source made from a function by :func:`data_source`."""

    def __init__(self, fn: Callable[..., Any], bound: Mapping[str, Any]) -> None:
        self.fn = fn
        self._bound = dict(bound)
        self._keywords = KeywordParams(fn, bound, max_positional=1)

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def params(self) -> Mapping[str, Any]:
        return self._keywords.static()

    @functools.cached_property
    def code_fingerprint(self) -> str:
        return code_fingerprint(self.fn)

    def fetch(self, ctx: Any) -> Any:
        kwargs = self._keywords.resolve(ctx)
        if self._keywords.positional >= 1:
            return self.fn(ctx, **kwargs)
        return self.fn(**kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FunctionDataSource, (self.fn, self._bound))


class DataSourceFactory:
    """What :func:`data_source` returns: call it to make the data source."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        _expose_for_pickle(fn)

    def __call__(self, **bound: Any) -> FunctionDataSource:
        return FunctionDataSource(self.fn, bound)

    def __repr__(self) -> str:
        return f"data_source({self.fn.__qualname__})"


def data_source(fn: Callable[..., Any]) -> DataSourceFactory:
    """Turn ``fn(ctx, *, key=default, ...)`` into a data source factory.

    Keyword parameters are filled from the context like a step's.

    Examples:
        >>> @data_source
        ... def numbers(ctx, *, n=3):
        ...     return list(range(n))
        >>> numbers(n=5).fetch({})
        [0, 1, 2, 3, 4]
    """
    return DataSourceFactory(fn)
