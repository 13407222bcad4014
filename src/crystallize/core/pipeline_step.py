"""A pipeline step: ``step(data, ctx) -> data``."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, overload

from crystallize.core.fingerprint import code_fingerprint, hash_value, params_of
from crystallize.core.injection import KeywordParams, _expose_for_pickle

__all__ = ["FunctionStep", "PipelineStep", "StepFactory", "pipeline_step"]


class PipelineStep(ABC):
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

    @property
    def name(self) -> str:
        """The step's name in provenance and errors."""
        return type(self).__name__

    @property
    def params(self) -> Mapping[str, Any]:
        """Parameters that identify this step (default: public attributes)."""
        return params_of(self)

    def resolved_params(self, ctx: Any) -> Mapping[str, Any]:
        """The parameters in effect for one run (default: :attr:`params`)."""
        del ctx
        return self.params

    @property
    def is_cacheable(self) -> bool:
        """Whether this instance's output may be cached."""
        return self.cacheable

    @functools.cached_property
    def code_fingerprint(self) -> str:
        """Hash of the code that implements the step."""
        return code_fingerprint(self)

    @property
    def step_hash(self) -> str:
        """Hash of name, params and code: equal hashes mean the same step."""
        return hash_value([self.name, self.params, self.code_fingerprint])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


class FunctionStep(PipelineStep):
    """A step made from a function by :func:`pipeline_step`."""

    def __init__(self, fn: Callable[..., Any], bound: Mapping[str, Any], cacheable: bool) -> None:
        self.fn = fn
        self._bound = dict(bound)
        self._keywords = KeywordParams(fn, bound, max_positional=2)
        self._cacheable = cacheable

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def params(self) -> Mapping[str, Any]:
        return self._keywords.static()

    @property
    def is_cacheable(self) -> bool:
        return self._cacheable

    def resolved_params(self, ctx: Any) -> Mapping[str, Any]:
        return self._keywords.resolve(ctx)

    @functools.cached_property
    def code_fingerprint(self) -> str:
        return code_fingerprint(self.fn)

    def __call__(self, data: Any, ctx: Any) -> Any:
        kwargs = self._keywords.resolve(ctx)
        if self._keywords.positional >= 2:
            return self.fn(data, ctx, **kwargs)
        return self.fn(data, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FunctionStep, (self.fn, self._bound, self._cacheable))


class StepFactory:
    """What :func:`pipeline_step` returns: call it (optionally with keyword
    overrides) to make a step; a pipeline also accepts it uncalled."""

    def __init__(self, fn: Callable[..., Any], cacheable: bool) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        _expose_for_pickle(fn)
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
