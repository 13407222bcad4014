"""What is wrong in an experiment file: each problem with its line and key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crystallize.config.yaml_tree import Invalid, YamlNode
from crystallize.core.exceptions import CrystallizeError, suggest

__all__ = ["ConfigError", "Problem", "first_invalid", "unknown_keys"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in an experiment file."""

    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}: {self.key + ': ' if self.key else ''}{self.message}"


class ConfigError(CrystallizeError, ValueError):
    """An experiment file is invalid.

    Attributes:
        path: the file.
        line: the 1-based line of the first problem (``None`` if unknown).
        key: the dotted key of the first problem (``"hypotheses[0].direction"``).
        problems: every problem found, in document order.
    """

    def __init__(self, path: str | Path, problems: Sequence[Problem]) -> None:
        self.path = str(path)
        self.problems = tuple(problems)
        first = self.problems[0]
        self.line = first.line
        self.key = first.key
        super().__init__("\n".join(f"{self.path}, {problem}" for problem in self.problems))


def unknown_keys(node: YamlNode, allowed: Sequence[str], what: str) -> list[Problem]:
    """A problem for every key of the mapping ``node`` outside ``allowed``, suggesting the nearest."""
    problems = []
    for name, key_node, _ in node.items():
        if name not in allowed:
            problems.append(Problem(key_node.line, key_node.key, f"unknown key {name!r} in {what}"
                                    f"{suggest(name, allowed)}; valid keys: {', '.join(allowed)}"))
    return problems


def first_invalid(problems: Sequence[Problem]) -> None:
    """Raise the first of ``problems`` as :class:`Invalid` (nothing if there are none)."""
    if problems:
        raise Invalid(problems[0].key, problems[0].line, problems[0].message)
