"""YAML read as a node tree, so every value keeps the key and line it came from.

The tree holds plain data only: a tag that asks for a Python object
(``!!python/...``) or any other non-standard tag is refused, and so are
aliases that would expand the document past :data:`MAX_ALIAS_VALUES` values
(an "alias bomb"), aliases that contain themselves, and nesting deeper than
:data:`MAX_DEPTH`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["MAX_ALIAS_VALUES", "MAX_DEPTH", "Invalid", "YamlNode", "duplicate_keys", "parse"]

#: Values that aliases (``*name``) may add to a document once expanded.
MAX_ALIAS_VALUES = 100_000
#: Lists and mappings nested deeper than this are refused.
MAX_DEPTH = 100

_YAML_TAG = "tag:yaml.org,2002:"
#: Tags of plain data: what the safe loader builds, plus merge keys (``<<: *base``).
_PLAIN_TAGS = frozenset({*(t for t in yaml.SafeLoader.yaml_constructors if t), _YAML_TAG + "merge",
                         _YAML_TAG + "value"})

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


def _shown_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else tag


def _tags(node: yaml.Node, key: str, seen: set[int]) -> Iterator[Invalid]:
    """An :class:`Invalid` for every node under ``node`` whose tag is not plain data."""
    if id(node) in seen:  # an alias: checked where its anchor is
        return
    seen.add(id(node))
    if node.tag not in _PLAIN_TAGS:
        yield Invalid(key, node.start_mark.line + 1,
                      f"the tag {_shown_tag(node.tag)} is not allowed: an experiment file holds plain data "
                      "(mappings, lists, strings, numbers, booleans, dates), never Python objects; name code "
                      "by import path ('module:name') instead")
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            child = f"{key}.{name}" if key else str(name)
            yield from _tags(key_node, child, seen)
            yield from _tags(value_node, child, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, child_node in enumerate(node.value):
            yield from _tags(child_node, f"{key}[{i}]", seen)


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing alias bombs, self-containing aliases and deep nesting while it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._open_anchors: set[str] = set()  # anchors of the lists and mappings being composed
        self._measured: dict[int, tuple[int, int]] = {}  # expanded size and depth of nodes aliased so far
        self._alias_values = 0
        self._depth = 0

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """``(values, depth)`` of ``node`` with its aliases expanded (memoised: linear in the file)."""
        known = self._measured.get(id(node))
        if known is not None:
            return known
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        measured = [self._measure(child) for child in children]
        result = (1 + sum(size for size, _ in measured), 1 + max((depth for _, depth in measured), default=0))
        self._measured[id(node)] = result
        return result

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise Invalid("", line, f"the alias *{event.anchor} refers to a value that contains it; "
                                        "an experiment file cannot hold a value inside itself")
            node: yaml.Node = super().compose_node(parent, index)
            size, depth = self._measure(node)
            self._alias_values += size
            if self._depth + depth > MAX_DEPTH:
                raise Invalid("", line, f"the alias *{event.anchor} nests lists and mappings more than "
                                        f"{MAX_DEPTH} levels deep")
            if self._alias_values > MAX_ALIAS_VALUES:
                raise Invalid("", line, f"the alias *{event.anchor} takes the file past {MAX_ALIAS_VALUES:,} "
                                        "values once aliases are expanded (nested aliases multiply); write the "
                                        "values out or use fewer aliases")
            return node
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise Invalid("", line, f"lists and mappings are nested more than {MAX_DEPTH} levels deep")
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(anchor)  # type: ignore[arg-type]
        return node


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
    """Compose ``text`` into a node tree of plain data (``None`` for an empty document).

    Raises:
        Invalid: the text is not valid YAML, holds a non-standard tag (such as
            ``!!python/object``), or its aliases expand too far; with the line
            of the problem.
    """
    try:
        root = yaml.compose(text, Loader=_BoundedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise Invalid("", line, f"{filename} is not valid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise Invalid("", None, f"{filename} is not valid YAML: {exc}") from exc
    if root is None:
        return None
    for bad_tag in _tags(root, "", set()):
        raise bad_tag
    return YamlNode(root, "")
