"""What an experiment file may name by import path, checked before anything is called.

An import path in a YAML file names a data source, a pipeline step or a
statistical test. Its kind is checked as soon as it is resolved, and nothing
is called until every path of the file has been resolved and checked: a file
naming ``subprocess:Popen`` as a test is refused without calling it. Only
three kinds of object are ever called, each with the file's keyword
arguments: a :class:`DataSource` or :class:`PipelineStep` subclass, a function
decorated with ``@data_source`` or ``@pipeline_step``, and a
:class:`StatisticalTest` subclass. An instance of those is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from crystallize.core.datasource import DataSource, DataSourceFactory
from crystallize.core.exceptions import CrystallizeError
from crystallize.core.pipeline_step import PipelineStep, StepFactory
from crystallize.core.stat_test import StatisticalTest

__all__ = ["Deferred", "Kind", "KindError", "check_kind"]

#: What an import path stands for in a file.
Kind = Literal["the data source", "a pipeline step", "a statistical test"]

# kind -> (base class, decorated factory type or None, what its arguments are called, how to make one)
_KINDS: dict[str, tuple[type, type | None, str, str]] = {
    "the data source": (DataSource, DataSourceFactory, "params", "decorate a function with @data_source, "
                                                                 "subclass DataSource, or name an instance"),
    "a pipeline step": (PipelineStep, StepFactory, "params", "decorate a function with @pipeline_step, subclass "
                                                             "PipelineStep, or name an instance"),
    "a statistical test": (StatisticalTest, None, "options", "subclass crystallize.core.stat_test.StatisticalTest, "
                                                             "or name an instance"),
}


class KindError(CrystallizeError, TypeError):
    """An import path names an object of another kind than its key needs, or it cannot be built."""


@dataclass(frozen=True, slots=True)
class Deferred:
    """A checked object and the keyword arguments to call it with, once the whole file is valid.

    Attributes:
        target: a class or decorated factory of the right kind, or an instance (``call`` false).
        params: keyword arguments from the file.
        import_path: the path as written, for messages.
        call: whether :meth:`build` calls ``target`` (an instance is used as it is).
    """

    target: Any
    params: dict[str, Any]
    import_path: str
    call: bool

    def build(self) -> Any:
        """The object: ``target(**params)``, or ``target`` itself for an instance.

        Raises:
            KindError: the class or factory refused the arguments.
        """
        if not self.call:
            return self.target
        try:
            return self.target(**self.params)
        except (TypeError, ValueError, CrystallizeError) as exc:
            raise KindError(f"{self.import_path}: {exc}") from None


def check_kind(target: Any, params: dict[str, Any], kind: Kind, import_path: str) -> Deferred:
    """Check that ``target`` (resolved from ``import_path``) is ``kind``; call nothing.

    Raises:
        KindError: ``target`` is of another kind (for example a plain function or
            a class from elsewhere), or an instance was given arguments.
    """
    base, factory, arguments, how = _KINDS[kind]
    if (factory is not None and isinstance(target, factory)) or (isinstance(target, type)
                                                                 and issubclass(target, base)):
        return Deferred(target, params, import_path, call=True)
    if isinstance(target, base):
        if params:
            raise KindError(f"{import_path} is already an instance; it takes no {arguments}")
        return Deferred(target, params, import_path, call=False)
    what = f"the class {target.__module__}.{target.__qualname__}" if isinstance(target, type) \
        else f"a {type(target).__name__}"
    raise KindError(f"{import_path} is {what}, not {kind}: {how}")
