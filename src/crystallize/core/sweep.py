"""Sweeps: the value combinations of a factorial grid (or a zip) and their readable names.

:meth:`Treatment.grid <crystallize.core.treatment.Treatment.grid>` and
:meth:`Treatment.zip <crystallize.core.treatment.Treatment.zip>` build their
treatments from these combinations; the summary and the report recognise a
grid's treatments by the same names (:func:`sweep_name`) to lay its verdicts
out as a table over the axes.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from crystallize.core.context import RESERVED_KEYS
from crystallize.core.exceptions import ExperimentDefinitionError

__all__ = ["SweepKind", "format_level", "sweep_name", "sweep_values"]

SweepKind = Literal["grid", "zip"]

#: Longest value text in a treatment's name before it is shortened with "…".
_LONGEST = 40


def format_level(value: Any) -> str:
    """A short, repr-like text of one axis value: ``0.001``, ``1e-05``, ``2``, ``True``, ``adam``.

    Floats keep Python's shortest round-tripping form (NumPy scalars too),
    strings are bare unless they would be ambiguous in a name (then quoted),
    classes and functions show their name, and anything longer than 40
    characters is cut with "…".
    """
    if isinstance(value, bool) or value is None:
        text = repr(value)
    elif isinstance(value, numbers.Integral):
        text = repr(int(value))
    elif isinstance(value, numbers.Real):
        text = repr(float(value))
    elif isinstance(value, str):
        bare = value and not any(c in value for c in ",=\"' \n\t") and value.isprintable()
        text = value if bare else repr(value)
    elif isinstance(value, type) or callable(value):
        text = getattr(value, "__qualname__", None) or getattr(value, "__name__", None) or repr(value)
    else:
        text = repr(value)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"


def sweep_name(values: Mapping[str, Any]) -> str:
    """The name of the treatment that sets ``values``: ``lr=0.001,depth=2``."""
    return ",".join(f"{key}={format_level(value)}" for key, value in values.items())


def _axes_iv(kind: SweepKind, axes: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Check and normalise the axes of a sweep: each a non-empty list of values of a settable key."""
    if not axes:
        raise ExperimentDefinitionError(f"Treatment.{kind}() needs at least one axis, e.g. "
                                        f"Treatment.{kind}(lr=[0.001, 0.01])")
    out: dict[str, list[Any]] = {}
    for key, levels in axes.items():
        if not isinstance(key, str) or not key:
            raise ExperimentDefinitionError(f"Treatment.{kind}(): axis names are context keys (strings), got {key!r}")
        if key in RESERVED_KEYS:
            raise ExperimentDefinitionError(
                f"Treatment.{kind}(): axis {key!r} is set by crystallize for every run "
                f"(reserved: {', '.join(sorted(RESERVED_KEYS))}); sweep another key")
        if isinstance(levels, (str, bytes, Mapping)) or not isinstance(levels, Iterable):
            raise ExperimentDefinitionError(
                f"Treatment.{kind}(): axis {key!r} needs a list of values, got {type(levels).__name__} {levels!r}")
        listed = list(levels)
        if not listed:
            raise ExperimentDefinitionError(f"Treatment.{kind}(): axis {key!r} has no values; give at least one")
        out[key] = listed
    return out


def sweep_values(kind: SweepKind, axes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The context values of each treatment of a sweep, in order.

    Args:
        kind: ``"grid"`` for every combination (the first axis varies
            slowest), ``"zip"`` for the i-th value of every axis together.
        axes: context key to its list of values.

    Raises:
        ExperimentDefinitionError: no axis, an axis that is not a non-empty
            list, a reserved key, zipped axes of different lengths, or two
            combinations whose names would be the same.
    """
    checked = _axes_iv(kind, axes)
    keys = list(checked)
    if kind == "grid":
        rows = [dict(zip(keys, combo)) for combo in itertools.product(*checked.values())]
    else:
        lengths = {key: len(levels) for key, levels in checked.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            raise ExperimentDefinitionError(
                f"Treatment.zip() pairs the i-th values of every axis, so the axes need one length: {shown}; "
                "use Treatment.grid() for every combination")
        rows = [dict(zip(keys, combo)) for combo in zip(*checked.values())]
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = sweep_name(row)
        if name in seen:
            raise ExperimentDefinitionError(
                f"Treatment.{kind}(): two combinations are both named {name!r} ({seen[name]!r} and {row!r}); "
                "give each axis distinct values")
        seen[name] = row
    return rows
