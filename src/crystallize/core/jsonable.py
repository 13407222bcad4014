"""Values as plain JSON-ready Python objects, so records equal their JSON round trip."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["to_jsonable"]

_PLAIN = frozenset({str, bool, int, float, type(None)})


def to_jsonable(value: Any) -> Any:
    """Metric and parameter values as JSON-friendly Python objects."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): v if type(v) in _PLAIN else to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", 1) == 0:
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(v) for v in value), key=repr)
    return repr(value)
