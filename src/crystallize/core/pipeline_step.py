"""A pipeline step: ``step(data, ctx) -> data``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, overload

from crystallize.core.component import Component, FunctionComponent, FunctionFactory

__all__ = ["FunctionStep", "PipelineStep", "StepFactory", "pipeline_step"]


class PipelineStep(Component, ABC):
    """One stage of a pipeline.

    Subclass it and implement ``__call__(data, ctx)``, or decorate a function
    with :func:`pipeline_step`. The last step of a pipeline returns a mapping
    of metrics.

    Attributes:
        cacheable: when ``True`` the step's output is cached, keyed on its
            code, params, input data and every context value it reads.
    """

    cacheable: ClassVar[bool] = False

    @abstractmethod
    def __call__(self, data: Any, ctx: Any) -> Any:
        """Transform ``data`` for the run described by ``ctx``."""

    def resolved_params(self, ctx: Any) -> Mapping[str, Any]:
        """The parameters in effect for one run (default: :attr:`params`)."""
        del ctx
        return self.params

    def call_with_params(self, data: Any, ctx: Any) -> tuple[Any, Mapping[str, Any]]:
        """Run the step and return its output with the parameters it used."""
        return self(data, ctx), self.resolved_params(ctx)

    @property
    def is_cacheable(self) -> bool:
        """Whether this instance's output may be cached."""
        return self.cacheable

    @property
    def step_hash(self) -> str:
        """Hash of name, params and code: equal hashes mean the same step."""
        return self.identity_hash


class FunctionStep(FunctionComponent, PipelineStep):
    """A step made from a function by :func:`pipeline_step`."""

    max_positional = 2

    def __init__(self, fn: Callable[..., Any], bound: Mapping[str, Any], cacheable: bool) -> None:
        super().__init__(fn, bound)
        self._cacheable = cacheable

    @property
    def is_cacheable(self) -> bool:
        return self._cacheable

    def resolved_params(self, ctx: Any) -> Mapping[str, Any]:
        return self._keywords.resolve(ctx)

    def __call__(self, data: Any, ctx: Any) -> Any:
        return self._invoke(ctx, self._keywords.resolve(ctx), data)

    def call_with_params(self, data: Any, ctx: Any) -> tuple[Any, Mapping[str, Any]]:
        kwargs = self._keywords.resolve(ctx)
        return self._invoke(ctx, kwargs, data), kwargs

    def __reduce__(self) -> tuple[Any, ...]:
        return (FunctionStep, (self.fn, self._bound, self._cacheable))


class StepFactory(FunctionFactory):
    """What :func:`pipeline_step` returns: call it (optionally with keyword
    overrides) to make a step; a pipeline also accepts it uncalled."""

    def __init__(self, fn: Callable[..., Any], cacheable: bool) -> None:
        super().__init__(fn)
        self.cacheable = cacheable

    def __call__(self, **bound: Any) -> FunctionStep:
        return FunctionStep(self.fn, bound, self.cacheable)

    def __repr__(self) -> str:
        return f"pipeline_step({self.fn.__qualname__})"


@overload
def pipeline_step(fn: Callable[..., Any], /) -> StepFactory: ...
@overload
def pipeline_step(*, cacheable: bool = False) -> Callable[[Callable[..., Any]], StepFactory]: ...


def pipeline_step(
    fn: Callable[..., Any] | None = None, /, *, cacheable: bool = False
) -> StepFactory | Callable[[Callable[..., Any]], StepFactory]:
    """Turn ``fn(data, ctx, *, key=default, ...)`` into a pipeline step.

    Keyword parameters are filled from the context when it holds the key, so a
    treatment that sets ``learning_rate`` changes the step's
    ``learning_rate``; otherwise they keep their default. ``ctx`` may be
    omitted from the signature.

    Examples:
        >>> @pipeline_step
        ... def scale(data, ctx, *, factor=2):
        ...     return [x * factor for x in data]
        >>> step = scale()
        >>> step.params
        {'factor': 2}
    """
    if fn is None:
        return lambda f: StepFactory(f, cacheable)
    return StepFactory(fn, cacheable)
