"""Import paths (``package.module:name``) resolved relative to a folder first."""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from crystallize.core.exceptions import CrystallizeError, suggest

__all__ = ["ImportPathError", "import_module_near", "resolve_import"]

log = logging.getLogger("crystallize")


class ImportPathError(CrystallizeError, ImportError):
    """An import path names a module or an attribute that cannot be found.

    Attributes:
        import_path: the path as written (``"package.module:name"``).
    """

    def __init__(self, import_path: str, message: str) -> None:
        super().__init__(message)
        self.import_path = import_path


@contextlib.contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)


def _local_file(module: str, folder: Path) -> Path | None:
    base = folder.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _forget_stale(module: str, local: Path) -> None:
    """Drop ``module`` (and its parents) from ``sys.modules`` when loaded from elsewhere,
    so two experiment folders may both hold a ``steps.py``."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        loaded = sys.modules.get(name)
        file = getattr(loaded, "__file__", None)
        if loaded is not None and file is not None and not Path(file).resolve().is_relative_to(local):
            for other in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[other]


def _pickle_by_value(module: ModuleType) -> None:
    """Ship a folder-local module's code with pickled steps, so process, Dask and Ray
    workers that lack the folder on ``sys.path`` can still run them."""
    try:
        import cloudpickle  # noqa: PLC0415
    except ImportError:  # pragma: no cover - cloudpickle is a dependency
        return
    with contextlib.suppress(ValueError):
        cloudpickle.register_pickle_by_value(module)
    ray_pickle = sys.modules.get("ray.cloudpickle")
    if ray_pickle is not None and hasattr(ray_pickle, "register_pickle_by_value"):
        with contextlib.suppress(ValueError):
            ray_pickle.register_pickle_by_value(module)


def import_module_near(module: str, folder: Path | None) -> ModuleType:
    """Import ``module``, looking in ``folder`` before the rest of ``sys.path``.

    Raises:
        ImportPathError: no such module (or it failed to import), with the folders searched.
    """
    local = _local_file(module, folder) if folder is not None else None
    if local is not None and folder is not None:
        _forget_stale(module, folder.resolve())
    try:
        if folder is not None:
            with _on_sys_path(folder.resolve()):
                loaded = importlib.import_module(module)
        else:
            loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        where = f" (looked in {folder} and on sys.path)" if folder is not None else " (looked on sys.path)"
        if missing == module or module.startswith(missing + "."):
            message = f"module {module!r} not found{where}"
        else:
            message = f"module {module!r} could not be imported: it imports {missing!r}, which is not installed"
        raise ImportPathError(module, message) from exc
    except Exception as exc:  # noqa: BLE001 - the user's module raised while importing
        raise ImportPathError(module, f"module {module!r} raised {type(exc).__name__} on import: {exc}") from exc
    if local is not None:
        _pickle_by_value(loaded)
    return loaded


def resolve_import(import_path: str, folder: Path | None = None) -> Any:
    """The object named by ``"package.module:name"`` (``name`` may be dotted).

    Args:
        import_path: module and attribute, separated by a colon.
        folder: searched before ``sys.path`` (the YAML file's folder).

    Raises:
        ImportPathError: the path is malformed, or its module or attribute is missing.
    """
    module_name, sep, attr = import_path.partition(":")
    if not sep or not module_name or not attr:
        raise ImportPathError(
            import_path,
            f"import path {import_path!r} must look like 'package.module:name' (module, colon, attribute)",
        )
    obj: Any = import_module_near(module_name.strip(), folder)
    walked = module_name
    for part in attr.strip().split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(obj) if not n.startswith("_")]
            kind = "module" if isinstance(obj, ModuleType) else "object"
            raise ImportPathError(
                import_path, f"{kind} {walked!r} has no attribute {part!r}{suggest(part, public)}"
            )
        obj = getattr(obj, part)
        walked = f"{walked}:{part}" if walked == module_name else f"{walked}.{part}"
    log.debug("resolved %s to %r", import_path, obj)
    return obj
