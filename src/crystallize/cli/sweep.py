"""``crystallize run FILE -t lr=0.001,0.01 -t depth=2,4``: sweep context keys from the command line.

Each ``-t KEY=V1,V2,...`` is one axis; several make a grid over every
combination (:meth:`Treatment.grid <crystallize.core.treatment.Treatment.grid>`),
which replaces the experiment's own treatments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crystallize.cli.console import CliError
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.treatment import Treatment

__all__ = ["parse_axis", "sweep_treatments"]

_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None, "none": None}


def _value(text: str) -> Any:
    """``2`` → 2, ``1e-3`` → 0.001, ``true`` → True, ``none`` → None, anything else stays text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return _WORDS.get(text.lower(), text)


def parse_axis(spec: str) -> tuple[str, list[Any]]:
    """``"lr=0.001,0.01"`` → ``("lr", [0.001, 0.01])``.

    Raises:
        CliError: no ``=``, no key, or an empty value.
    """
    key, sep, values = spec.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CliError(f"-t {spec!r}: write KEY=VALUE,VALUE,... (a context key and its values), e.g. -t lr=0.001,0.01")
    levels = [part.strip() for part in values.split(",")]
    if any(not part for part in levels):
        raise CliError(f"-t {spec!r}: an empty value for {key!r}; separate the values with single commas")
    return key, [_value(part) for part in levels]


def sweep_treatments(specs: Sequence[str]) -> list[Treatment]:
    """The grid over every ``-t`` axis, in the order given.

    Raises:
        CliError: a malformed ``-t``, a key given twice, or a refused axis
            (a reserved key, values that name two treatments alike).
    """
    axes: dict[str, list[Any]] = {}
    for spec in specs:
        key, levels = parse_axis(spec)
        if key in axes:
            raise CliError(f"-t {spec!r}: {key!r} is already swept by an earlier -t; give each key once, "
                           f"with all its values: -t {key}=V1,V2")
        axes[key] = levels
    try:
        return Treatment.grid(axes)
    except ExperimentDefinitionError as exc:
        raise CliError(f"-t: {exc}") from exc
