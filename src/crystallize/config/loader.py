"""Reading an experiment file: every problem found, then the experiment built.

Loading happens in two phases: every import path is resolved and its kind
checked (see :mod:`crystallize.config.components`), and only when the whole
file is valid are the data source, steps and tests built; a file never calls
anything else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from crystallize.config.builder import Builder
from crystallize.config.hypotheses import hypothesis, make_hypothesis
from crystallize.config.problems import ConfigError, Problem, unknown_keys
from crystallize.config.yaml_tree import Invalid, YamlNode, duplicate_keys, parse
from crystallize.core.exceptions import CrystallizeError
from crystallize.core.hypothesis import Hypothesis

__all__ = ["REQUIRED_KEYS", "TOP_KEYS", "load_experiment"]

TOP_KEYS = ("name", "seed", "replicates", "datasource", "steps", "treatments", "hypotheses", "correction")
REQUIRED_KEYS = ("datasource", "steps")

E = TypeVar("E")


def _raise_problems(builder: Builder) -> None:
    if builder.problems:
        raise ConfigError(builder.path, sorted(builder.problems, key=lambda p: (p.line or 0)))


def _root(path: Path) -> YamlNode:
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
    return root


def load_experiment(path: str | Path, experiment_type: Callable[..., E]) -> E:
    """Build the experiment described by the YAML file at ``path``.

    Users call :meth:`Experiment.from_yaml <crystallize.core.experiment.Experiment.from_yaml>`,
    which passes itself as ``experiment_type``: this package builds every part
    of an experiment but never imports the experiment itself.

    Args:
        path: the experiment file.
        experiment_type: called with the experiment's keyword arguments
            (``datasource``, ``pipeline``, ``treatments``, ``hypotheses``,
            ``replicates``, ``seed``, ``name``, ``correction``).

    Raises:
        ConfigError: the file is missing, not YAML, or invalid; every problem
            is listed with its key and line, including a refusal of the
            experiment that concerns one hypothesis (such as a fixed-n test in
            a sequential design), at that hypothesis's line.
    """
    path = Path(path)
    root = _root(path)
    builder = Builder(path)
    builder.problems.extend(Problem(d.line, d.key, d.message) for d in duplicate_keys(root.node))
    builder.problems.extend(builder.attempt(lambda: unknown_keys(root, TOP_KEYS, "the experiment"), []))
    top: dict[str, YamlNode] = builder.attempt(root.mapping, {})
    for key in REQUIRED_KEYS:
        if key not in top:
            builder.problems.append(Problem(root.line, key, f"missing required key {key!r}"))
    scalars = builder.scalars(top)
    # first phase: resolve and check everything, call nothing
    source: Any = builder.attempt(lambda: builder.component(top["datasource"], "the data source")) \
        if "datasource" in top else None
    steps = builder.attempt(lambda: builder.steps(top["steps"]), []) if "steps" in top else []
    treatments = builder.attempt(lambda: builder.treatments(top["treatments"]), []) \
        if "treatments" in top and not top["treatments"].is_null else []
    parsed: list[tuple[YamlNode, dict[str, Any]] | None] = []
    if "hypotheses" in top and not top["hypotheses"].is_null:
        for element in builder.attempt(top["hypotheses"].elements, []):
            parsed.append(builder.attempt(functools.partial(hypothesis, builder, element)))
    _raise_problems(builder)
    # second phase: the whole file is valid (so every part above is there); build its parts
    datasource: Any = builder.attempt(functools.partial(builder.build, source))
    pipeline = [builder.attempt(functools.partial(builder.build, step)) for step in steps]
    nodes = [h[0] for h in parsed if h is not None]
    built = [builder.attempt(functools.partial(make_hypothesis, builder, *h)) for h in parsed if h is not None]
    _raise_problems(builder)
    parts = {"datasource": datasource, "pipeline": pipeline, **scalars}
    try:
        return experiment_type(treatments=treatments, hypotheses=built, **parts)
    except (CrystallizeError, ValueError) as exc:
        problems = _refused_hypotheses(experiment_type, parts, nodes, built) or [Problem(root.line, "", str(exc))]
        raise ConfigError(path, problems) from exc


def _refused_hypotheses(experiment_type: Callable[..., Any], parts: dict[str, Any], nodes: Sequence[YamlNode],
                        built: Sequence[Hypothesis]) -> list[Problem]:
    """The experiment's own refusal of each hypothesis it refuses alone, at that hypothesis's line.

    Each hypothesis is tried in an experiment of its own (same data source,
    steps and design, no treatments), so the message is the experiment's and
    the rule stays in one place.
    """
    try:
        experiment_type(hypotheses=[], **parts)
    except (CrystallizeError, ValueError):
        return []  # refused without any hypothesis: not a hypothesis's problem
    problems = []
    for node, one in zip(nodes, built):
        try:
            experiment_type(hypotheses=[one], **parts)
        except (CrystallizeError, ValueError) as exc:
            hint = "" if one.statistical_test.anytime_valid else \
                " (in an experiment file: test: sequential_t, or betting)"
            problems.append(Problem(node.line, node.key, f"{exc}{hint}"))
    return problems
