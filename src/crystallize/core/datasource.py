"""Where a run's data comes from: ``fetch(ctx) -> data``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from crystallize.core.component import Component, FunctionComponent, FunctionFactory

__all__ = ["DataSource", "FunctionDataSource", "data_source"]


class DataSource(Component, ABC):
    """Produces the input of the pipeline for one run.

    Subclass it and implement ``fetch(ctx)``, or decorate a function with
    :func:`data_source`. Use ``ctx.rng`` (or the seeded global generators)
    for any randomness so replicates are reproducible.
    """

    @abstractmethod
    def fetch(self, ctx: Any) -> Any:
        """Return the data for the run described by ``ctx``."""

    @property
    def source_hash(self) -> str:
        """Hash of name, params and code."""
        return self.identity_hash


class FunctionDataSource(FunctionComponent, DataSource):
    """A data source made from a function by :func:`data_source`."""

    def fetch(self, ctx: Any) -> Any:
        return self._invoke(ctx, self._keywords.resolve(ctx))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FunctionDataSource, (self.fn, self._bound))


class DataSourceFactory(FunctionFactory):
    """What :func:`data_source` returns: call it to make the data source."""

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
