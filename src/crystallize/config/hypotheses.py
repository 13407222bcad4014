"""The ``hypotheses:`` of an experiment file and their tests.

A test is a short name (``paired_t``, ``sequential_t``, ``betting``, ...), a
mapping with ``name:`` and the test's options (``{name: sequential_t,
prior_scale: 0.8}``), or an import path to a
:class:`~crystallize.core.stat_test.StatisticalTest` subclass. The options of a
named test are checked one by one, so a refusal names its own key and line.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from crystallize.config import fields
from crystallize.config.builder import Builder, Part
from crystallize.config.problems import Problem, unknown_keys
from crystallize.config.yaml_tree import YamlNode
from crystallize.core.exceptions import CrystallizeError, suggest
from crystallize.core.hypothesis import Hypothesis
from crystallize.core.stat_test import TESTS_BY_NAME, StatisticalTest

__all__ = ["HYPOTHESIS_KEYS", "hypothesis", "make_hypothesis", "test"]

HYPOTHESIS_KEYS = ("name", "metric", "direction", "test", "alpha", "margin", "margin_relative",
                   "higher_is_better", "family", "min_effect", "alpha_futility")


def _flag(node: YamlNode) -> bool:
    value: bool = node.scalar((bool,), "true or false")
    return value


def hypothesis(builder: Builder, node: YamlNode) -> tuple[YamlNode, dict[str, Any]] | None:
    """A hypothesis's arguments, its test not yet built; each invalid field is its own problem."""
    before = len(builder.problems)
    builder.problems.extend(unknown_keys(node, HYPOTHESIS_KEYS, "a hypothesis"))
    entries = node.mapping()
    if "metric" not in entries:
        raise node.invalid("a hypothesis needs 'metric:' (the name of a metric the last step returns)")
    parsers: dict[str, Callable[[YamlNode], Any]] = {
        "metric": lambda n: fields.text(n, "a metric name"), "direction": fields.direction,
        "alpha": lambda n: fields.fraction(n, "alpha"), "margin": lambda n: fields.positive(n, "margin"),
        "name": lambda n: fields.text(n, "a name"), "margin_relative": _flag, "higher_is_better": _flag,
        "test": functools.partial(test, builder), "family": lambda n: fields.text(n, "a family name"),
        "min_effect": lambda n: fields.positive(n, "min_effect", " in the metric's units"),
        "alpha_futility": lambda n: fields.fraction(n, "alpha_futility"),
    }
    kwargs: dict[str, Any] = {}
    for key, parse in parsers.items():
        if key in entries and not entries[key].is_null:
            kwargs[key] = builder.attempt(functools.partial(parse, entries[key]))
    if len(builder.problems) > before:
        return None
    return node, kwargs


def make_hypothesis(builder: Builder, node: YamlNode, kwargs: dict[str, Any]) -> Hypothesis:
    """The second phase: build the hypothesis and its test."""
    kwargs = dict(kwargs)
    chosen = kwargs.pop("test", None)
    kwargs["statistical_test"] = builder.build(chosen) if isinstance(chosen, tuple) else chosen
    try:
        return Hypothesis(**kwargs)
    except (CrystallizeError, ValueError) as exc:
        raise node.invalid(str(exc)) from None


def test(builder: Builder, node: YamlNode) -> StatisticalTest | Part | None:
    """A built-in test (built now: it runs no user code), or a test class by import path (checked only)."""
    options: dict[str, tuple[YamlNode, YamlNode]] = {}
    if node.is_mapping:
        entries = node.mapping()
        if "name" not in entries:
            raise node.invalid("a test given as a mapping needs 'name:' (e.g. name: sequential_t)")
        name = entries["name"].scalar((str,), "a test name")
        options = {key: (key_node, value) for key, key_node, value in node.items() if key != "name"}
    else:
        name = node.scalar((str,), "a test name such as paired_t or sequential_t")
    if ":" not in name:
        return _named_test(builder, name, options, node)
    return builder.checked(name, node, {key: value.value() for key, (_, value) in options.items()},
                           "a statistical test")


def _named_test(builder: Builder, name: str, options: dict[str, tuple[YamlNode, YamlNode]],
                node: YamlNode) -> StatisticalTest | None:
    key = name.strip().lower().replace("-", "_")
    if key not in TESTS_BY_NAME:
        raise node.invalid(f"unknown test {name!r}{suggest(key, TESTS_BY_NAME)}; choose one of "
                           f"{', '.join(TESTS_BY_NAME)} or give an import path 'module:TestClass'")
    cls = TESTS_BY_NAME[key]
    allowed = list(inspect.signature(cls).parameters)
    before = len(builder.problems)
    values: dict[str, Any] = {}
    for option, (key_node, value_node) in options.items():
        if option not in allowed:
            builder.problems.append(Problem(key_node.line, key_node.key, (
                f"test {key!r} has no option {option!r}{suggest(option, allowed)}; its options: "
                f"{', '.join(allowed) or 'none'}")))
            continue
        values[option] = value_node.value()
        try:  # each option on its own first, so a refusal names its key
            cls(**{option: values[option]})
        except (TypeError, ValueError, CrystallizeError) as exc:
            builder.problems.append(Problem(value_node.line, value_node.key, f"test {key!r}: {exc}"))
    if "prior_scale" in options and "expected_replicates" in options:
        key_node = options["expected_replicates"][0]
        builder.problems.append(Problem(key_node.line, key_node.key, (
            "give prior_scale or expected_replicates, not both: expected_replicates sets the prior scale that "
            "aims decisions near that many replicates")))
    if len(builder.problems) > before:
        return None
    try:
        return cls(**values)
    except (TypeError, ValueError, CrystallizeError) as exc:
        raise node.invalid(f"test {name!r}: {exc}") from None
