"""Single values of an experiment file, checked where they stand: each parser takes a node
and returns its value, or raises :class:`~crystallize.config.yaml_tree.Invalid` naming it."""

from __future__ import annotations

import math

from crystallize.config.yaml_tree import YamlNode
from crystallize.core.analysis import CORRECTIONS
from crystallize.core.exceptions import suggest
from crystallize.core.hypothesis import DIRECTIONS

__all__ = ["correction", "direction", "fraction", "positive", "text", "whole"]


def text(node: YamlNode, what: str) -> str:
    """A string."""
    value: str = node.scalar((str,), what)
    return value


def whole(node: YamlNode, minimum: int) -> int:
    """A whole number of at least ``minimum``."""
    value: int = node.scalar((int,), f"a whole number >= {minimum}")
    if value < minimum:
        raise node.invalid(f"must be >= {minimum}, got {value}")
    return value


def fraction(node: YamlNode, name: str) -> float:
    """A number strictly between 0 and 1 (a level such as ``alpha``)."""
    value = node.scalar((int, float), "a number between 0 and 1")
    if not 0 < value < 1:
        raise node.invalid(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return float(value)


def positive(node: YamlNode, name: str, units: str = "") -> float:
    """A finite number greater than 0."""
    value = node.scalar((int, float), "a positive number")
    if not 0 < value < math.inf:
        raise node.invalid(f"{name} must be a positive number{units}, got {value!r}")
    return float(value)


def direction(node: YamlNode) -> str:
    """One of the hypothesis directions."""
    value: str = node.scalar((str,), "a direction")
    allowed = [d for d in DIRECTIONS if d is not None]
    if value not in allowed:
        raise node.invalid(f"direction {value!r} is not valid{suggest(value, allowed)}; "
                           f"use one of {', '.join(allowed)} (or leave it out: any change)")
    return value


def correction(node: YamlNode) -> str | None:
    """A multiple-comparison correction, or ``None`` for ``none`` (or an empty value)."""
    value = None if node.is_null else node.scalar((str,), "a correction name")
    value = None if value == "none" else value
    if value not in CORRECTIONS:
        names = [c for c in CORRECTIONS if c]
        raise node.invalid(f"{value!r} is not valid{suggest(str(value), names)}; use one of {', '.join(names)}"
                           " or none")
    return value
