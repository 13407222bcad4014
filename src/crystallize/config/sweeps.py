"""Sweeps in an experiment file: ``treatments: {grid: {lr: [...], depth: [...]}}`` (or ``zip:``).

Each becomes the treatments of :meth:`Treatment.grid
<crystallize.core.treatment.Treatment.grid>` (every combination) or
:meth:`Treatment.zip <crystallize.core.treatment.Treatment.zip>` (the i-th
values together), beside any named treatments of the same mapping.
"""

from __future__ import annotations

import re
from typing import Any

from crystallize.config.yaml_tree import YamlNode
from crystallize.core.context import RESERVED_KEYS
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.treatment import Treatment

__all__ = ["SWEEP_KINDS", "sweep_treatments"]

#: Keys of ``treatments:`` that hold a sweep rather than a treatment's values.
SWEEP_KINDS = ("grid", "zip")

#: A number YAML 1.1 leaves as text when it has no dot (``1e-3``); a sweep reads it as the number.
_EXPONENT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _level(node: YamlNode) -> Any:
    value = node.value()
    if isinstance(value, str) and getattr(node.node, "style", None) is None and _EXPONENT.fullmatch(value):
        return float(value)
    return value


def sweep_treatments(kind: str, node: YamlNode) -> list[Treatment]:
    """The treatments of ``grid:`` or ``zip:``: a mapping of context keys to lists of values.

    Raises:
        Invalid: the node is not such a mapping, an axis is reserved or empty,
            or zipped axes differ in length (at the offending key's line).
    """
    example = f"{kind}: {{lr: [0.001, 0.01], depth: [2, 4]}}"
    if not node.is_mapping:
        raise node.invalid(f"a {kind} is a mapping of context keys to lists of values, e.g. {example}; "
                           f"got {node.kind}")
    axes: dict[str, list[Any]] = {}
    for key, key_node, levels in node.items():
        if key in RESERVED_KEYS:
            raise key_node.invalid(f"context key {key!r} is set by crystallize for every run "
                                   f"(reserved: {', '.join(sorted(RESERVED_KEYS))}); sweep another key")
        if not levels.is_sequence or not levels.elements():
            raise levels.invalid(f"axis {key!r} needs a non-empty list of values, e.g. {key}: [1, 2]; got {levels.kind}")
        axes[key] = [_level(element) for element in levels.elements()]
    try:
        return Treatment.grid(axes) if kind == "grid" else Treatment.zip(axes)
    except ExperimentDefinitionError as exc:
        raise node.invalid(str(exc)) from None
