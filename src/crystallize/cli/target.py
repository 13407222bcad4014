"""What ``crystallize run`` runs: a YAML file or a ``module:attr`` naming an experiment."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crystallize.cli.console import CliError
from crystallize.config.imports import resolve_import
from crystallize.core.exceptions import ExperimentDefinitionError
from crystallize.core.experiment import Experiment
from crystallize.core.sequential import Sequential
from crystallize.core.treatment import Treatment

__all__ = ["load_experiment", "load_target", "replicates_override", "with_overrides"]

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
        return Experiment.from_yaml(path)
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


def load_experiment(path: str | Path) -> Experiment:
    """The experiment of a YAML file: :meth:`Experiment.from_yaml`."""
    return Experiment.from_yaml(path)


def replicates_override(experiment: Experiment, *, replicates: int | None = None, sequential: bool = False,
                        max_replicates: int | None = None, batch: int | None = None,
                        min_replicates: int | None = None) -> int | Sequential | None:
    """The design ``crystallize run``'s options ask for, or ``None`` to keep the experiment's.

    ``--replicates N`` asks for a fixed design of ``N`` replicates, also for a
    sequential experiment: its tests are anytime-valid, hence valid at a fixed
    ``N`` too. ``--sequential`` turns the experiment into a sequential one
    (``--max-replicates`` is then required unless it is sequential already);
    ``--max-replicates``, ``--batch`` and ``--min-replicates`` alone change the
    design of an experiment that is sequential already.

    Raises:
        CliError: the options contradict each other or the experiment, or a
            hypothesis's test is not anytime-valid (naming it and ``sequential_t``).
    """
    given = {key: value for key, value in (("max", max_replicates), ("batch", batch), ("min", min_replicates))
             if value is not None}
    flags = ", ".join(f"--{_FLAGS[key]}" for key in given)
    if replicates is not None:
        if sequential or given:
            raise CliError(f"--replicates sets a fixed number of replicates and cannot go with "
                           f"{'--sequential' if sequential else flags}; for a sequential design give "
                           "--max-replicates (the budget) instead")
        return replicates
    if not sequential and not given:
        return None
    current = experiment.sequential
    if current is None and not sequential:
        raise CliError(f"{flags} only apply to a sequential design, and {experiment.name!r} has a fixed number of "
                       "replicates: add --sequential to run it in rounds")
    if current is None and "max" not in given:
        raise CliError("--sequential needs --max-replicates N: the most replicates per condition it may run")
    _check_anytime_valid(experiment)
    try:
        return Sequential(**{**(current.describe() if current else {}), **given})
    except ExperimentDefinitionError as exc:
        raise CliError(f"{flags or '--sequential'}: {exc}") from exc


_FLAGS = {"max": "max-replicates", "batch": "batch", "min": "min-replicates"}


def _check_anytime_valid(experiment: Experiment) -> None:
    fixed = [f"{h.name!r} uses {h.statistical_test.test_name}" for h in experiment.hypotheses
             if not h.statistical_test.anytime_valid]
    if fixed:
        raise CliError(
            f"--sequential needs anytime-valid tests, but hypothesis {'; '.join(fixed)}: a fixed-n test looked at "
            "after every round inflates false positives; use test: sequential_t (SequentialTTest, or betting for "
            "metrics in [0, 1]), or run without --sequential")


def with_overrides(experiment: Experiment, *, replicates: int | Sequential | None = None,
                   seed: int | None = None, treatments: Sequence[Treatment] | None = None) -> Experiment:
    """A copy of ``experiment`` with another design (a replicate count or a sequential design), master seed
    or treatments.

    A seed the experiment drew at random stays undrawn in the copy, so ``--resume`` still adopts the
    seed of the run it continues.
    """
    if replicates is None and seed is None and treatments is None:
        return experiment
    return Experiment(
        datasource=experiment.datasource, pipeline=experiment.pipeline,
        treatments=experiment.treatments if treatments is None else treatments,
        hypotheses=experiment.hypotheses,
        replicates=replicates if replicates is not None else experiment.sequential or experiment.replicates,
        seed=seed if seed is not None else experiment.seed if experiment.seed_given else None,
        name=experiment.name,
        correction=experiment.correction, intervals=experiment.intervals,
    )
