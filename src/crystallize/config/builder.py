"""Turning an experiment file's node tree into experiment parts, collecting problems as it goes.

Components (the data source, steps, tests named by import path) are built in two
phases: :meth:`Builder.component` resolves and checks one without calling it,
and :meth:`Builder.build` calls it once the whole file is known to be valid.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crystallize.config import fields
from crystallize.config.components import Deferred, Kind, KindError, check_kind
from crystallize.config.imports import ImportPathError, resolve_import
from crystallize.config.problems import Problem, first_invalid, unknown_keys
from crystallize.config.sweeps import SWEEP_KINDS, sweep_treatments
from crystallize.config.yaml_tree import Invalid, YamlNode
from crystallize.core.context import RESERVED_KEYS
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.sequential import Sequential
from crystallize.core.treatment import RESERVED_CONDITIONS, Treatment

__all__ = ["COMPONENT_KEYS", "SEQUENTIAL_KEYS", "Builder", "Part"]

COMPONENT_KEYS = ("import", "params")
#: Keys of ``replicates: {sequential: {...}}``, with the least each may be.
SEQUENTIAL_KEYS = {"max": 2, "batch": 1, "min": 2}

#: A checked component and the node that problems in building it name.
Part = tuple[Deferred, YamlNode]


class Builder:
    """Turns the node tree into experiment parts, collecting problems as it goes.

    Attributes:
        path: the experiment file.
        folder: where its import paths are looked up first.
        problems: every problem found so far.
    """

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
        """The object named by ``import_path`` (nothing is called but the module's import)."""
        try:
            return resolve_import(import_path, self.folder)
        except ImportPathError as exc:
            raise node.invalid(str(exc)) from exc

    def component(self, node: YamlNode, kind: Kind) -> Part:
        """A data source or step from ``"module:name"``, ``{import:, params:}`` or ``{"module:name": params}``:
        resolved and checked, not yet called; with the node that problems in building it name."""
        import_node, params_node = node, None
        if node.is_mapping:
            entries = node.mapping()
            if len(entries) == 1 and ":" in next(iter(entries)):  # {"module:name": {params}}
                import_path, params_node = next(iter(entries.items()))
                import_node = YamlNode(node.node.value[0][0], params_node.key)
            else:
                first_invalid(unknown_keys(node, COMPONENT_KEYS, kind))
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
        return self.checked(import_path, import_node, params, kind, params_node or import_node)

    def checked(self, import_path: str, node: YamlNode, params: dict[str, Any], kind: Kind,
                builds_at: YamlNode | None = None) -> Part:
        """Resolve ``import_path`` (written at ``node``) and check that it is ``kind``; call nothing."""
        target = self.import_object(import_path, node)
        try:
            return check_kind(target, params, kind, import_path), builds_at or node
        except KindError as exc:
            raise node.invalid(str(exc)) from None

    def build(self, part: Part) -> Any:
        """Call a checked part (the second phase); a refusal is a problem at its node."""
        deferred, node = part
        try:
            return deferred.build()
        except KindError as exc:
            raise node.invalid(str(exc)) from None

    def steps(self, node: YamlNode) -> list[Part | None]:
        """Every step of the pipeline, each checked on its own."""
        elements = node.elements()
        if not elements:
            raise node.invalid("needs at least one step (the last returns the metrics)")
        return [self.attempt(functools.partial(self.component, e, "a pipeline step")) for e in elements]

    # -- treatments --------------------------------------------------------
    def treatments(self, node: YamlNode) -> list[Treatment]:
        """``{name: {context key: value}}`` as treatments; ``grid:`` and ``zip:`` hold sweeps."""
        out = []
        for name, key_node, values in node.items():
            if name in SWEEP_KINDS:
                out.extend(sweep_treatments(name, values))
                continue
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

    # -- the replicates ----------------------------------------------------
    def replicates(self, node: YamlNode) -> int | Sequential:
        """A whole number, or ``{sequential: {max: N, batch: B, min: M}}`` (batch and min optional)."""
        if not node.is_mapping:
            return fields.whole(node, 1)
        first_invalid(unknown_keys(node, ("sequential",), "replicates"))
        design = node.mapping().get("sequential")
        if design is None:
            raise node.invalid("give a whole number, or a sequential design: {sequential: {max: 200, batch: 5}}")
        if not design.is_mapping:
            raise design.invalid(f"expected a mapping with max: (the most replicates per condition) and optional "
                                 f"batch: and min:, got {design.kind}")
        self.problems.extend(unknown_keys(design, tuple(SEQUENTIAL_KEYS), "a sequential design"))
        entries = design.mapping()
        if "max" not in entries:
            raise design.invalid("a sequential design needs max: (the most replicates per condition it may run)")
        counts = {key: self.attempt(functools.partial(fields.whole, entries[key], least))
                  for key, least in SEQUENTIAL_KEYS.items() if key in entries}
        if None in counts.values():
            return 1  # the problem is recorded; the file will be refused
        try:
            return Sequential(**counts)
        except ExperimentDefinitionError as exc:  # min above max: said at min, or at max if min is the default
            raise entries.get("min", entries["max"]).invalid(str(exc)) from None

    def scalars(self, top: dict[str, YamlNode]) -> dict[str, Any]:
        """``name``, ``seed``, ``replicates`` and ``correction``, with their defaults."""
        out: dict[str, Any] = {"name": self.path.stem, "seed": None, "replicates": 1, "correction": "holm"}
        if "name" in top:
            out["name"] = self.attempt(lambda: fields.text(top["name"], "a name"), self.path.stem)
        if "seed" in top and not top["seed"].is_null:
            out["seed"] = self.attempt(lambda: fields.whole(top["seed"], 0))
        if "replicates" in top:
            out["replicates"] = self.attempt(lambda: self.replicates(top["replicates"]), 1)
        if "correction" in top:
            out["correction"] = self.attempt(lambda: fields.correction(top["correction"]), "holm")
        return out
