"""Experiments defined in YAML files.

A file names its data source and steps by import path (``module:name``,
looked up next to the file first), its treatments as context values, and its
hypotheses by metric, direction and test name::

    name: digits-knn
    seed: 7
    replicates: 10
    datasource:
      import: steps:digits_split
      params: {test_fraction: 0.3}
    steps:
      - steps:standardise
      - import: steps:knn
        params: {n_neighbors: 1}
    treatments:
      k15: {n_neighbors: 15}
    hypotheses:
      - metric: accuracy
        direction: increase
        test: paired_t
    correction: holm

Every problem is reported with its key and line; unknown keys suggest the
nearest valid one. Loading happens in two phases: every import path is
resolved and its kind checked (see :mod:`crystallize.cli.components`), and
only when the whole file is valid are the data source, steps and tests
built; a file never calls anything else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crystallize.cli.components import Deferred, Kind, KindError, check_kind
from crystallize.cli.imports import ImportPathError, resolve_import
from crystallize.cli.yaml_tree import Invalid, YamlNode, duplicate_keys, parse
from crystallize.core.analysis import CORRECTIONS
from crystallize.core.context import RESERVED_KEYS
from crystallize.core.exceptions import CrystallizeError, suggest
from crystallize.core.experiment import Experiment
from crystallize.core.hypothesis import DIRECTIONS, Hypothesis
from crystallize.core.stat_test import TESTS_BY_NAME, StatisticalTest, get_test
from crystallize.core.treatment import RESERVED_CONDITIONS, Treatment

__all__ = ["ConfigError", "Problem", "load_experiment"]

TOP_KEYS = ("name", "seed", "replicates", "datasource", "steps", "treatments", "hypotheses", "correction")
REQUIRED_KEYS = ("datasource", "steps")
COMPONENT_KEYS = ("import", "params")
HYPOTHESIS_KEYS = ("name", "metric", "direction", "test", "alpha", "margin", "margin_relative",
                   "higher_is_better", "family")


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


def _unknown_keys(node: YamlNode, allowed: Sequence[str], what: str) -> list[Problem]:
    problems = []
    for name, key_node, _ in node.items():
        if name not in allowed:
            problems.append(Problem(key_node.line, key_node.key, f"unknown key {name!r} in {what}"
                                    f"{suggest(name, allowed)}; valid keys: {', '.join(allowed)}"))
    return problems


class _Builder:
    """Turns the node tree into experiment parts, collecting problems as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.parent
        self.problems: list[Problem] = []

    def attempt(self, fn: Callable[[], Any], default: Any = None) -> Any:
        """Call ``fn``; record its :class:`Invalid` as a problem and return ``default``."""
        try:
            return fn()
        except Invalid as exc:
            self.problems.append(Problem(exc.line, exc.key, exc.message))
            return default

    # -- components --------------------------------------------------------
    def import_object(self, import_path: str, node: YamlNode) -> Any:
        try:
            return resolve_import(import_path, self.folder)
        except ImportPathError as exc:
            raise node.invalid(str(exc)) from exc

    def component(self, node: YamlNode, kind: Kind) -> tuple[Deferred, YamlNode]:
        """A data source or step from ``"module:name"``, ``{import:, params:}`` or ``{"module:name": params}``:
        resolved and checked, not yet called; with the node that problems in building it name."""
        import_node, params_node = node, None
        if node.is_mapping:
            entries = node.mapping()
            if len(entries) == 1 and ":" in next(iter(entries)):  # {"module:name": {params}}
                import_path, params_node = next(iter(entries.items()))
                import_node = YamlNode(node.node.value[0][0], params_node.key)
            else:
                problems = _unknown_keys(node, COMPONENT_KEYS, kind)
                if problems:
                    raise Invalid(problems[0].key, problems[0].line, problems[0].message)
                if "import" not in entries:
                    raise node.invalid(f"{kind} needs an 'import: module:name' entry")
                import_node, params_node = entries["import"], entries.get("params")
                import_path = import_node.scalar((str,), "an import path 'module:name'")
        else:
            import_path = node.scalar((str,), f"an import path 'module:name' or a mapping with 'import:' ({kind})")
        params: dict[str, Any] = {}
        if params_node is not None and not params_node.is_null:
            if not params_node.is_mapping:
                raise params_node.invalid(f"params must be a mapping of keyword arguments, got {params_node.kind}")
            params = params_node.value()
        target = self.import_object(import_path, import_node)
        try:
            return check_kind(target, params, kind, import_path), params_node or import_node
        except KindError as exc:
            raise import_node.invalid(str(exc)) from None

    def build(self, part: tuple[Deferred, YamlNode]) -> Any:
        """Call a checked part (the second phase); a refusal is a problem at its node."""
        deferred, node = part
        try:
            return deferred.build()
        except KindError as exc:
            raise node.invalid(str(exc)) from None

    def steps(self, node: YamlNode) -> list[tuple[Deferred, YamlNode] | None]:
        elements = node.elements()
        if not elements:
            raise node.invalid("needs at least one step (the last returns the metrics)")
        return [self.attempt(functools.partial(self.component, e, "a pipeline step")) for e in elements]

    # -- treatments and hypotheses -----------------------------------------
    def treatments(self, node: YamlNode) -> list[Treatment]:
        out = []
        for name, key_node, values in node.items():
            if name in RESERVED_CONDITIONS:
                raise key_node.invalid(f"treatment name {name!r} is reserved; choose another name")
            if values.is_null:
                mapping: dict[str, Any] = {}
            elif values.is_mapping:
                mapping = {}
                for key, kn, vn in values.items():
                    if key in RESERVED_KEYS:
                        raise kn.invalid(f"context key {key!r} is set by crystallize for every run "
                                         f"(reserved: {', '.join(sorted(RESERVED_KEYS))}); use another key")
                    mapping[key] = vn.value()
            else:
                raise values.invalid(f"a treatment is a mapping of context keys to values, got {values.kind}")
            out.append(Treatment(name, mapping))
        return out

    def hypothesis(self, node: YamlNode) -> tuple[YamlNode, dict[str, Any]] | None:
        """A hypothesis's arguments, its test not yet built; each invalid field is its own problem."""
        before = len(self.problems)
        self.problems.extend(_unknown_keys(node, HYPOTHESIS_KEYS, "a hypothesis"))
        entries = node.mapping()
        if "metric" not in entries:
            raise node.invalid("a hypothesis needs 'metric:' (the name of a metric the last step returns)")
        fields = {"metric": lambda n: n.scalar((str,), "a metric name"), "direction": _direction,
                  "alpha": _alpha, "margin": _margin, "name": lambda n: n.scalar((str,), "a name"),
                  "margin_relative": lambda n: n.scalar((bool,), "true or false"),
                  "higher_is_better": lambda n: n.scalar((bool,), "true or false"), "test": self.test,
                  "family": lambda n: n.scalar((str,), "a family name")}
        kwargs: dict[str, Any] = {}
        for key, parse_field in fields.items():
            if key in entries and not entries[key].is_null:
                kwargs[key] = self.attempt(functools.partial(parse_field, entries[key]))
        if len(self.problems) > before:
            return None
        return node, kwargs

    def make_hypothesis(self, node: YamlNode, kwargs: dict[str, Any]) -> Hypothesis:
        """The second phase: build the hypothesis and its test."""
        test = kwargs.pop("test", None)
        kwargs["statistical_test"] = self.build(test) if isinstance(test, tuple) else test
        try:
            return Hypothesis(**kwargs)
        except (CrystallizeError, ValueError) as exc:
            raise node.invalid(str(exc)) from None

    def test(self, node: YamlNode) -> StatisticalTest | tuple[Deferred, YamlNode]:
        if node.is_mapping:
            entries = node.mapping()
            if "name" not in entries:
                raise node.invalid("a test given as a mapping needs 'name:' (e.g. name: permutation)")
            name = entries["name"].scalar((str,), "a test name")
            options = {k: v.value() for k, v in entries.items() if k != "name"}
        else:
            name, options = node.scalar((str,), "a test name such as welch or paired_t"), {}
        if ":" not in name:
            return _named_test(name, options, node)
        target = self.import_object(name, node)
        try:
            return check_kind(target, options, "a statistical test", name), node
        except KindError as exc:
            raise node.invalid(str(exc)) from None


def _named_test(name: str, options: dict[str, Any], node: YamlNode) -> StatisticalTest:
    key = name.strip().lower().replace("-", "_")
    if key not in TESTS_BY_NAME:
        raise node.invalid(f"unknown test {name!r}{suggest(key, TESTS_BY_NAME)}; choose one of "
                           f"{', '.join(TESTS_BY_NAME)} or give an import path 'module:TestClass'")
    try:
        return get_test(key, **options)
    except (TypeError, ValueError) as exc:
        raise node.invalid(f"test {name!r}: {exc}") from None


def _direction(node: YamlNode) -> str:
    direction: str = node.scalar((str,), "a direction")
    allowed = [d for d in DIRECTIONS if d is not None]
    if direction not in allowed:
        raise node.invalid(f"direction {direction!r} is not valid{suggest(direction, allowed)}; "
                           f"use one of {', '.join(allowed)} (or leave it out: any change)")
    return direction


def _alpha(node: YamlNode) -> float:
    alpha = node.scalar((int, float), "a number between 0 and 1")
    if not 0 < alpha < 1:
        raise node.invalid(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _margin(node: YamlNode) -> float:
    margin = node.scalar((int, float), "a positive number")
    if margin <= 0:
        raise node.invalid(f"margin must be positive, got {margin!r}")
    return float(margin)


def _whole(node: YamlNode, minimum: int) -> int:
    value: int = node.scalar((int,), f"a whole number >= {minimum}")
    if value < minimum:
        raise node.invalid(f"must be >= {minimum}, got {value}")
    return value


def _correction(node: YamlNode) -> str | None:
    value = None if node.is_null else node.scalar((str,), "a correction name")
    value = None if value == "none" else value
    if value not in CORRECTIONS:
        names = [c for c in CORRECTIONS if c]
        raise node.invalid(f"{value!r} is not valid{suggest(str(value), names)}; use one of {', '.join(names)}"
                           " or none")
    return value


def _scalars(builder: _Builder, top: dict[str, YamlNode], path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"name": path.stem, "seed": None, "replicates": 1, "correction": "holm"}
    if "name" in top:
        out["name"] = builder.attempt(lambda: top["name"].scalar((str,), "a name"), path.stem)
    if "seed" in top and not top["seed"].is_null:
        out["seed"] = builder.attempt(lambda: _whole(top["seed"], 0))
    if "replicates" in top:
        out["replicates"] = builder.attempt(lambda: _whole(top["replicates"], 1), 1)
    if "correction" in top:
        out["correction"] = builder.attempt(lambda: _correction(top["correction"]), "holm")
    return out


def _raise_problems(builder: _Builder, path: Path) -> None:
    if builder.problems:
        raise ConfigError(path, sorted(builder.problems, key=lambda p: (p.line or 0)))


def load_experiment(path: str | Path) -> Experiment:
    """Build the :class:`Experiment` described by the YAML file at ``path``.

    Raises:
        ConfigError: the file is missing, not YAML, or invalid; every problem
            is listed with its key and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [Problem(None, "", f"cannot read the file: {exc.strerror or exc}")]) from exc
    try:
        root = parse(text, path.name)
    except Invalid as exc:
        raise ConfigError(path, [Problem(exc.line, exc.key, exc.message)]) from exc
    if root is None or not root.is_mapping:
        raise ConfigError(path, [Problem(root.line if root else 1, "", "the file must be a mapping with at least "
                                         f"{' and '.join(REQUIRED_KEYS)} keys")])
    builder = _Builder(path)
    builder.problems.extend(Problem(d.line, d.key, d.message) for d in duplicate_keys(root.node))
    builder.problems.extend(builder.attempt(lambda: _unknown_keys(root, TOP_KEYS, "the experiment"), []))
    top = builder.attempt(root.mapping, {})
    for key in REQUIRED_KEYS:
        if key not in top:
            builder.problems.append(Problem(root.line, key, f"missing required key {key!r}"))
    scalars = _scalars(builder, top, path)
    # first phase: resolve and check everything, call nothing
    source: Any = builder.attempt(lambda: builder.component(top["datasource"], "the data source")) \
        if "datasource" in top else None
    steps = builder.attempt(lambda: builder.steps(top["steps"]), []) if "steps" in top else []
    treatments = builder.attempt(lambda: builder.treatments(top["treatments"]), []) \
        if "treatments" in top and not top["treatments"].is_null else []
    hypotheses: list[tuple[YamlNode, dict[str, Any]] | None] = []
    if "hypotheses" in top and not top["hypotheses"].is_null:
        for element in builder.attempt(top["hypotheses"].elements, []):
            hypotheses.append(builder.attempt(functools.partial(builder.hypothesis, element)))
    _raise_problems(builder, path)
    # second phase: the whole file is valid (so every part above is there); build its parts
    datasource: Any = builder.attempt(functools.partial(builder.build, source))
    pipeline = [builder.attempt(functools.partial(builder.build, step)) for step in steps]
    built = [builder.attempt(functools.partial(builder.make_hypothesis, *h)) for h in hypotheses if h is not None]
    _raise_problems(builder, path)
    try:
        return Experiment(datasource=datasource, pipeline=pipeline, treatments=treatments, hypotheses=built,
                          **scalars)
    except (CrystallizeError, ValueError) as exc:
        raise ConfigError(path, [Problem(root.line, "", str(exc))]) from exc
