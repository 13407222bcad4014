"""What ``crystallize run`` runs: a YAML file or a ``module:attr`` naming an experiment."""

from __future__ import annotations

from pathlib import Path

from crystallize.cli.config import load_experiment
from crystallize.cli.console import CliError
from crystallize.cli.imports import resolve_import
from crystallize.core.experiment import Experiment

__all__ = ["load_target", "with_overrides"]

_YAML_SUFFIXES = (".yaml", ".yml")


def load_target(spec: str) -> Experiment:
    """The experiment named by ``spec``.

    ``spec`` is a YAML file, ``package.module:attr`` (looked up in the
    current folder first) or ``path/to/file.py:attr``; ``attr`` is an
    :class:`Experiment` or a function of no arguments returning one.

    Raises:
        CliError: ``spec`` names nothing usable (exit status 2).
        ConfigError: the YAML file is invalid.
        ImportPathError: the module or attribute is missing.
    """
    path = Path(spec)
    if path.suffix.lower() in _YAML_SUFFIXES:
        if not path.is_file():
            raise CliError(f"experiment file {spec!r} not found")
        return load_experiment(path)
    module, sep, attr = spec.rpartition(":")
    if not sep or not module or not attr:
        if path.is_file():
            raise CliError(f"{spec!r} is not a YAML file; to run a Python file give the experiment's name: "
                           f"{spec}:experiment")
        raise CliError(f"cannot run {spec!r}: give an experiment file (.yaml) or 'module:attr'")
    folder = Path.cwd()
    if module.endswith(".py"):
        file = Path(module)
        if not file.is_file():
            raise CliError(f"Python file {module!r} not found")
        folder, module = file.resolve().parent, file.stem
    obj = resolve_import(f"{module}:{attr}", folder)
    if not isinstance(obj, Experiment) and callable(obj):
        try:
            obj = obj()
        except TypeError as exc:
            raise CliError(f"{spec} must be an Experiment or a function of no arguments returning one: {exc}") \
                from exc
    if not isinstance(obj, Experiment):
        raise CliError(f"{spec} is a {type(obj).__name__}, not an Experiment (or a function returning one)")
    return obj


def with_overrides(experiment: Experiment, *, replicates: int | None = None, seed: int | None = None) -> Experiment:
    """A copy of ``experiment`` with another replicate count or master seed."""
    if replicates is None and seed is None:
        return experiment
    return Experiment(
        datasource=experiment.datasource, pipeline=experiment.pipeline, treatments=experiment.treatments,
        hypotheses=experiment.hypotheses,
        replicates=replicates if replicates is not None else experiment.replicates,
        seed=seed if seed is not None else experiment.seed, name=experiment.name,
        correction=experiment.correction,
    )
