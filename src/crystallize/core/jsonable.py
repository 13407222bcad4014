"""Values as plain JSON-ready Python objects, so records equal their JSON round trip.

:func:`plain_metrics` is applied to every run's metrics when the run is
recorded: values JSON keeps exactly stay as they are, values with one plain
meaning are converted (NumPy scalars and arrays, ``Decimal``, ``Fraction``,
tuples), and anything else is refused, so the live result, the stored one
and a resumed one hold equal metrics. :func:`standard_json` writes JSON that
any parser reads: NaN and infinities become ``null``.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

from crystallize.core.exceptions import UnstorableMetricError

__all__ = ["plain_metrics", "standard_json", "to_jsonable"]

_PLAIN = frozenset({str, bool, int, float, type(None)})
_STR = frozenset({str})


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


_WHAT = "a metric is a number, a string, a bool, None, or a list or mapping (with string keys) of these"


def _hint(value: Any) -> str:
    if isinstance(value, numbers.Complex):
        return "return its parts as two metrics (z.real, z.imag) or its magnitude (abs(z))"
    if isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        return "return text (value.isoformat()) or a number (e.g. value.timestamp() or seconds)"
    if isinstance(value, (set, frozenset)):
        return "return a list (sorted(value))"
    if isinstance(value, (bytes, bytearray)):
        return "decode it to text, or save it with ctx.artifacts"
    return "save other objects with ctx.artifacts"


def _at(where: str) -> str:
    return f"the value at {where}" if where else "the value"


def _plain(value: Any, where: str) -> Any:
    """``value`` (at path ``where`` in its metric) as the plain JSON value it means;
    raises ``ValueError(message)`` if it has none."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, str):  # NumPy strings
        return str(value)
    if isinstance(value, numbers.Integral):  # NumPy integers, IntEnum
        return int(value)
    if isinstance(value, decimal.Decimal) and value.is_snan():
        raise ValueError(f"{_at(where)} is a signalling Decimal NaN; return float('nan')")
    if isinstance(value, (float, decimal.Decimal, numbers.Real)):  # NumPy floats, Decimal, Fraction
        return float(value)
    dtype = getattr(value, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "") in ("m", "M"):
        raise ValueError(f"{_at(where)} {_short(value)} (NumPy {dtype}) cannot be stored as it is: "
                         f"{_hint(_dt.timedelta())}")
    if dtype is not None and getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        return _plain(value.item(), where)  # another NumPy scalar: bool, complex, ...
    if dtype is not None and callable(getattr(value, "tolist", None)):  # a NumPy array
        return _plain(value.tolist(), where)
    if isinstance(value, Mapping):
        out = {}
        for key, item_value in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{_at(where)} has the key {key!r} ({type(key).__name__}): mapping keys must be "
                                 "strings, as in JSON; use str(key)")
            out[str(key)] = _plain(item_value, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ValueError(f"{_at(where)} {_short(value)} ({type(value).__name__}) cannot be stored as it is: "
                     f"{_hint(value)}; {_WHAT}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def plain_metrics(metrics: Mapping[Any, Any], step: str) -> dict[str, Any]:
    """The metrics a step returned, as the plain values the store keeps.

    NumPy scalars and arrays become Python numbers and lists, ``Decimal`` and
    ``Fraction`` become floats, tuples become lists; NaN and infinities stay.

    Args:
        metrics: the mapping the last step returned.
        step: the last step's name, for the error.

    Raises:
        UnstorableMetricError: a metric name is not a string, or a value has
            no plain form (complex, datetime, set, bytes, mapping keys that
            are not strings, other objects); the message names the metric.
    """
    if _PLAIN.issuperset(map(type, metrics.values())) and _STR.issuperset(map(type, metrics)):  # common, fast
        return dict(metrics)
    out: dict[str, Any] = {}
    for name, value in metrics.items():
        if not isinstance(name, str):
            raise UnstorableMetricError(step, repr(name), f"its name {name!r} ({type(name).__name__}) is not "
                                                          "a string; name metrics with strings")
        try:
            out[str(name)] = _plain(value, "")
        except ValueError as exc:
            raise UnstorableMetricError(step, name, str(exc)) from None
    return out


def _finite(value: Any) -> Any:
    """``value`` with every NaN and infinity replaced by ``None``."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind in _PLAIN:
        return value
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    return value


def standard_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as standard JSON: NaN and infinities as ``null`` (JSON has no token for them);
    NumPy values as numbers and lists; anything else as its ``repr``."""
    return json.dumps(_finite(value), indent=indent, allow_nan=False,
                      default=lambda v: _finite(to_jsonable(v)))
