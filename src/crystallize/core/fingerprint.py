"""Stable hashes of code and values, for provenance, resume and the step cache."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import sys
import sysconfig
import types
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["code_fingerprint", "hash_value", "params_of", "project_modules", "stable_json"]

#: Module-level values of these types are folded into the fingerprint of the code using them.
_CONSTANT_TYPES = (int, float, complex, str, bytes, bool, type(None))


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if callable(obj):
        return code_fingerprint(obj)
    item = getattr(obj, "tolist", None)
    if callable(item):
        return item()
    if type(obj).__repr__ is object.__repr__:  # type: ignore[comparison-overlap]  # repr with an address
        return {"__type__": f"{type(obj).__module__}.{type(obj).__qualname__}", **params_of(obj)}
    return repr(obj)


def stable_json(value: Any) -> str:
    """JSON with sorted keys; unknown objects by ``repr`` and callables by code."""
    return json.dumps(value, sort_keys=True, default=_default, separators=(",", ":"))


def hash_value(value: Any) -> str:
    """A short, stable SHA-256 hex digest of ``value`` (via :func:`stable_json`)."""
    return hashlib.sha256(stable_json(value).encode()).hexdigest()[:16]


def _code_bytes(code: types.CodeType) -> bytes:
    parts = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    for const in code.co_consts:
        parts.append(_code_bytes(const) if isinstance(const, types.CodeType) else repr(const).encode())
    return b"\0".join(parts)


def _target(obj: Any) -> Any:
    """The function or class whose code implements ``obj``."""
    target = inspect.unwrap(obj) if callable(obj) else obj
    if isinstance(target, types.MethodType):
        target = target.__func__
    if not isinstance(target, (types.FunctionType, type)):
        target = type(target)
    return target


def _names_and_constants(code: types.CodeType) -> bytes:
    consts = [_names_and_constants(c) if isinstance(c, types.CodeType) else repr(c).encode() for c in code.co_consts]
    return b"\0".join([repr(code.co_names).encode(), repr(code.co_varnames).encode(), *consts])


def _own_code(target: Any) -> bytes:
    try:
        source = inspect.getsource(target).encode()
        if getattr(target, "__name__", "") == "<lambda>":
            # the source is the whole line, which may hold several lambdas: tell them apart
            source += _names_and_constants(target.__code__)
        return source
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        return _code_bytes(code) if code is not None else repr(target).encode()


def _functions_of(target: Any) -> Iterator[types.FunctionType]:
    """The functions whose code ``target`` runs: itself, or a class's methods."""
    if isinstance(target, types.FunctionType):
        yield target
        return
    for value in vars(target).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
        elif isinstance(value, functools.cached_property):
            value = value.func
        if isinstance(value, types.FunctionType):
            yield value


def _names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _dependencies(target: Any, module: str | None) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of the module-level functions, classes and constants ``target`` uses."""
    if isinstance(target, type):
        for base in target.__bases__:
            if base.__module__ == module:
                yield f"base:{base.__qualname__}", base
    for fn in _functions_of(target):
        for i, value in enumerate(fn.__defaults__ or ()):
            yield f"value:default{i}", value
        for key, value in sorted((fn.__kwdefaults__ or {}).items()):
            yield f"value:kwdefault:{key}", value
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(content, (types.FunctionType, type)):
                yield f"closure:{getattr(content, '__qualname__', '')}", content
            else:  # a captured value (a treatment made in a loop or by a factory)
                yield f"value:closure:{name}", content
        scope = fn.__globals__
        names = list(dict.fromkeys(_names(fn.__code__)))
        for name in names:
            if name not in scope:
                continue
            value = scope[name]
            yield name, value
            if isinstance(value, types.ModuleType) and _is_project(value.__name__):
                for attr in names:  # helper.transform(...) in another module of the project
                    if attr in vars(value):
                        yield f"{name}.{attr}", vars(value)[attr]


@functools.lru_cache(maxsize=1024)
def _is_project(module: str | None) -> bool:
    """Whether ``module`` is the user's own code: a file outside the standard
    library, installed packages and crystallize itself."""
    if not module or module.split(".")[0] == "crystallize":
        return False
    path = getattr(sys.modules.get(module), "__file__", None)
    if not isinstance(path, str):
        return False
    return not os.path.realpath(path).startswith(_LIBRARY_PATHS)


_LIBRARY_PATHS = tuple(sorted({
    os.path.realpath(p) for key in ("stdlib", "platstdlib", "purelib", "platlib")
    if (p := sysconfig.get_paths().get(key))
}))


def _feed(target: Any, module: str | None, digest: Any, seen: set[int],
          modules: dict[str, None] | None = None) -> None:
    if id(target) in seen:
        return
    seen.add(id(target))
    if modules is not None and module:
        modules.setdefault(module)
    digest.update(_own_code(target))
    for name, value in _dependencies(target, module):
        try:
            value = inspect.unwrap(value) if callable(value) else value
            owner = getattr(value, "__module__", None)
            ours = isinstance(value, (types.FunctionType, type)) and (owner == module or _is_project(owner))
        except Exception:  # noqa: BLE001 - an exotic object (a mock, a proxy): not code of this module
            continue
        if name.startswith("value:"):
            try:
                text = stable_json(value)
            except Exception:  # noqa: BLE001 - an unhashable captured value: its type at least
                text = "?" + type(value).__qualname__
            digest.update(b"\0" + name.encode() + b"=" + text.encode() + b"\0")
        elif ours:
            digest.update(b"\0uses " + name.encode() + b"\0")
            _feed(value, value.__module__, digest, seen, modules)
        elif isinstance(value, _CONSTANT_TYPES) or (
            isinstance(value, (tuple, frozenset)) and all(isinstance(v, _CONSTANT_TYPES) for v in value)
        ):
            digest.update(b"\0const " + name.encode() + b"=" + repr(value).encode() + b"\0")


def code_fingerprint(obj: Any) -> str:
    """Hash the code behind ``obj`` (a function, a class, or an instance of one).

    The hash covers the source text (the bytecode when no source is
    available, e.g. a lambda typed into a REPL) and, recursively, the source of
    every function and class *of the same module* that the code refers to by
    name, plus the module-level constants (numbers, strings, tuples of them)
    it reads, the values its closures capture and its default arguments.
    Functions and classes of the user's other modules (files outside the
    standard library and installed packages) are followed the same way, so
    editing a helper changes the fingerprint of every step that calls it.
    Installed libraries are not followed: their versions are part of the
    environment instead.
    """
    target = _target(obj)
    digest = hashlib.sha256()
    modules: dict[str, None] = {}
    _feed(target, getattr(target, "__module__", None), digest, set(), modules)
    with contextlib.suppress(TypeError):  # an object that takes no weak reference is walked again when asked
        _FOLLOWED[target] = tuple(modules)
    return digest.hexdigest()[:16]


#: The modules each fingerprinted function or class led to, so :func:`project_modules` need not walk again.
_FOLLOWED: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def project_modules(objs: Iterable[Any]) -> list[str]:
    """The user's own modules (see :func:`code_fingerprint`) whose code the fingerprints of ``objs``
    follow, in the order first met: the files to keep so the code of a run can be read later."""
    modules: dict[str, None] = {}
    for obj in objs:
        target = _target(obj)
        if not _is_project(getattr(target, "__module__", None)):
            continue  # installed code (a library's test or step) never leads back into the user's modules
        try:
            followed = _FOLLOWED[target]
        except (KeyError, TypeError):
            code_fingerprint(target)
            followed = _FOLLOWED.get(target, ())
        modules.update(dict.fromkeys(followed))
    return [name for name in modules if _is_project(name)]


def params_of(obj: Any) -> Mapping[str, Any]:
    """Public, non-callable attributes of an instance: a default for ``params``."""
    attrs = getattr(obj, "__dict__", {})
    cls = type(obj)
    return {
        k: v for k, v in attrs.items()
        if not k.startswith("_") and not isinstance(getattr(cls, k, None), functools.cached_property)
    }
