"""YAML read as a node tree, so every value keeps the key and line it came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["Invalid", "YamlNode", "duplicate_keys", "parse"]

_TYPE_NAMES = {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a single value"}


class Invalid(Exception):  # noqa: N818 - internal signal, turned into a ConfigError by the caller
    """A value at ``key`` (on ``line``) is not what the schema expects."""

    def __init__(self, key: str, line: int | None, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.line = line
        self.message = message


@dataclass(frozen=True)
class YamlNode:
    """One node of the document with its dotted key (``hypotheses[1].test``) and line.

    Attributes:
        node: the PyYAML node.
        key: where the node sits in the document, for messages.
    """

    node: yaml.Node
    key: str

    @property
    def line(self) -> int:
        """The 1-based line the node starts on."""
        return self.node.start_mark.line + 1

    @property
    def kind(self) -> str:
        """``"a mapping"``, ``"a list"`` or ``"a single value"``."""
        return _TYPE_NAMES.get(type(self.node), "a value")

    def invalid(self, message: str, *, key: str | None = None) -> Invalid:
        """An :class:`Invalid` about this node."""
        return Invalid(key if key is not None else self.key, self.line, message)

    @property
    def is_mapping(self) -> bool:
        """Whether the node is a mapping."""
        return isinstance(self.node, yaml.MappingNode)

    @property
    def is_sequence(self) -> bool:
        """Whether the node is a list."""
        return isinstance(self.node, yaml.SequenceNode)

    @property
    def is_null(self) -> bool:
        """Whether the node is an empty value or ``null``."""
        return self.node.tag == "tag:yaml.org,2002:null"

    def value(self) -> Any:
        """The node as plain Python data (dicts, lists, scalars)."""
        return yaml.constructor.SafeConstructor().construct_document(self.node)

    def items(self) -> Iterator[tuple[str, YamlNode, YamlNode]]:
        """``(key, key node, value node)`` of a mapping, in document order.

        Raises:
            Invalid: the node is not a mapping, or a key is not a plain name.
        """
        if not self.is_mapping:
            raise self.invalid(f"expected a mapping (key: value lines), got {self.kind}")
        for key_node, value_node in self.node.value:
            if not isinstance(key_node, yaml.ScalarNode) or not isinstance(key_node.value, str):
                raise Invalid(self.key, key_node.start_mark.line + 1, "keys must be plain names")
            name = key_node.value
            child_key = f"{self.key}.{name}" if self.key else name
            yield name, YamlNode(key_node, child_key), YamlNode(value_node, child_key)

    def mapping(self) -> dict[str, YamlNode]:
        """The value nodes of a mapping by key (see :meth:`items`; a repeated key keeps its last value)."""
        return {name: value for name, _, value in self.items()}

    def elements(self) -> list[YamlNode]:
        """The element nodes of a list.

        Raises:
            Invalid: the node is not a list.
        """
        if not self.is_sequence:
            raise self.invalid(f"expected a list (lines starting with '- '), got {self.kind}")
        return [YamlNode(child, f"{self.key}[{i}]") for i, child in enumerate(self.node.value)]

    def scalar(self, kinds: tuple[type, ...], what: str) -> Any:
        """The node's value, checked to be one of ``kinds`` (``bool`` never counts as a number).

        Raises:
            Invalid: the value has another type; the message says ``what`` was expected.
        """
        value = self.value() if isinstance(self.node, yaml.ScalarNode) else None
        ok = isinstance(self.node, yaml.ScalarNode) and isinstance(value, kinds)
        if ok and isinstance(value, bool) and bool not in kinds:
            ok = False
        if not ok:
            shown = repr(value) if isinstance(self.node, yaml.ScalarNode) else self.kind
            raise self.invalid(f"expected {what}, got {shown}")
        return value


def duplicate_keys(node: yaml.Node, key: str = "") -> list[Invalid]:
    """Every key that appears twice in the same mapping, anywhere under ``node``."""
    found: list[Invalid] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            child = f"{key}.{name}" if key else str(name)
            line = key_node.start_mark.line + 1
            if name is not None and name in seen:
                found.append(Invalid(child, line, f"key {name!r} appears twice (first on line {seen[name]}); "
                                                  "keep one"))
            elif name is not None:
                seen[name] = line
            found.extend(duplicate_keys(value_node, child))
    elif isinstance(node, yaml.SequenceNode):
        for i, child_node in enumerate(node.value):
            found.extend(duplicate_keys(child_node, f"{key}[{i}]"))
    return found


def parse(text: str, filename: str) -> YamlNode | None:
    """Compose ``text`` into a node tree (``None`` for an empty document).

    Raises:
        Invalid: the text is not valid YAML (with the line of the problem).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise Invalid("", line, f"{filename} is not valid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise Invalid("", None, f"{filename} is not valid YAML: {exc}") from exc
    return YamlNode(root, "") if root is not None else None
