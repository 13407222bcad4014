"""Stable hashes of code and values, for provenance, resume and the step cache."""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import types
from collections.abc import Mapping
from typing import Any

__all__ = ["code_fingerprint", "hash_value", "stable_json"]


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if callable(obj):
        return code_fingerprint(obj)
    item = getattr(obj, "tolist", None)
    if callable(item):
        return item()
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


def code_fingerprint(obj: Any) -> str:
    """Hash the code behind ``obj`` (a function, a class, or an instance of one).

    The source text is used when available; otherwise the bytecode, so
    lambdas defined in a REPL still get a stable fingerprint.
    """
    target = inspect.unwrap(obj) if callable(obj) else obj
    if isinstance(target, types.MethodType):
        target = target.__func__
    if not isinstance(target, (types.FunctionType, type)):
        target = type(target)
    try:
        source = inspect.getsource(target).encode()
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        source = _code_bytes(code) if code is not None else repr(target).encode()
    return hashlib.sha256(source).hexdigest()[:16]


def params_of(obj: Any) -> Mapping[str, Any]:
    """Public, non-callable attributes of an instance: a default for ``params``."""
    attrs = getattr(obj, "__dict__", {})
    cls = type(obj)
    return {
        k: v for k, v in attrs.items()
        if not k.startswith("_") and not isinstance(getattr(cls, k, None), functools.cached_property)
    }
