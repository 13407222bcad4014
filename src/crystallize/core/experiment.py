"""The experiment: plans the runs, executes them somewhere, analyses the records."""

from __future__ import annotations

import logging
import numbers
import operator
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from crystallize.core.analysis import CORRECTIONS, INTERVALS, Intervals, check_families
from crystallize.core.context import FrozenContext
from crystallize.core.datasource import DataSource, DataSourceFactory
from crystallize.core.exceptions import (
    ContextMutationError,
    ExperimentDefinitionError,
)
from crystallize.core.fingerprint import hash_value
from crystallize.core.hypothesis import Hypothesis
from crystallize.core.pipeline import Pipeline
from crystallize.core.plan import BASELINE, RunSpec, plan_runs, replicate_seed
from crystallize.core.provenance import environment, git_state
from crystallize.core.result import Result
from crystallize.core.sequential import Sequential
from crystallize.core.treatment import RESERVED_CONDITIONS, Treatment

__all__ = ["Experiment"]

log = logging.getLogger("crystallize")


#: Master seeds the run store keeps (SQLite integers are signed 64-bit).
SEED_RANGE = (0, 2**63 - 1)
#: The longest ``timeout=`` accepted, in seconds (one year); ``None`` means no limit.
MAX_TIMEOUT = 365 * 24 * 3600.0


def _whole(value: Any) -> int | None:
    """``value`` as an int if it is a whole number (``int``, ``numpy.int64``, ...), else ``None``."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _replicates_iv(replicates: Any) -> int:
    if isinstance(replicates, Sequential):
        return replicates.max
    count = _whole(replicates)
    if count is None or count < 1:
        raise ExperimentDefinitionError(
            f"replicates must be a whole number >= 1, or Sequential(max=...), got {replicates!r}")
    return count


def _sequential_iv(hypotheses: Sequence[Hypothesis]) -> None:
    """A sequential design needs anytime-valid tests: refuse any other, saying why."""
    for h in hypotheses:
        test = h.statistical_test
        if not test.anytime_valid:
            raise ExperimentDefinitionError(
                f"hypothesis {h.name!r} uses {test.test_name} in a sequential experiment: a fixed-n test looked at "
                "after every round inflates false positives (5% becomes about 26% with looks every 5 replicates up "
                "to 200); use SequentialTTest() (or BettingTest() for bounded metrics), whose p-values stay valid "
                "however often they are looked at")
        if h.margin_relative:
            raise ExperimentDefinitionError(
                f"hypothesis {h.name!r}: a relative margin is not supported in a sequential experiment; give the "
                "margin in the metric's units")


def _seed_iv(seed: Any) -> int | None:
    if seed is None:
        return None
    value = _whole(seed)
    if value is None or not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
        raise ExperimentDefinitionError(
            f"seed must be a non-negative int from 0 to 2**63 - 1 (what the run store keeps) or None, got {seed!r}")
    return value


def _timeout_iv(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise ExperimentDefinitionError(
            f"timeout must be a number of seconds or None, got {timeout!r} ({type(timeout).__name__}); "
            "e.g. timeout=5 or timeout=2.5")
    seconds = float(timeout)
    if not 0 < seconds <= MAX_TIMEOUT:  # NaN fails too
        raise ExperimentDefinitionError(
            f"timeout={timeout!r} is out of range: pass seconds > 0 and at most {MAX_TIMEOUT:.0f} (one year), "
            "or None for no limit")
    return seconds


def _datasource_iv(datasource: Any) -> DataSource:
    if isinstance(datasource, DataSourceFactory):
        return datasource()
    if not isinstance(datasource, DataSource):
        raise ExperimentDefinitionError(
            f"datasource must be a DataSource (subclass it, or decorate a function with @data_source), "
            f"got {type(datasource).__name__}"
        )
    return datasource


def _treatments_iv(treatments: Iterable[Treatment]) -> tuple[Treatment, ...]:
    out = tuple(treatments)
    seen: set[str] = set()
    for index, treatment in enumerate(out):
        if not isinstance(treatment, Treatment):
            raise ExperimentDefinitionError(
                f"treatments[{index}] is a {type(treatment).__name__}; use Treatment(name, apply_fn_or_mapping)"
            )
        if treatment.name in RESERVED_CONDITIONS:
            raise ExperimentDefinitionError(
                f"treatment name {treatment.name!r} is reserved (reserved: {sorted(RESERVED_CONDITIONS)}); "
                "choose another name"
            )
        if treatment.name in seen:
            raise ExperimentDefinitionError(f"two treatments are named {treatment.name!r}; names must be unique")
        seen.add(treatment.name)
        probe = FrozenContext({"replicate": 0, "condition": treatment.name, "seed": 0}, seed=0)
        try:
            treatment.apply(probe)
        except ContextMutationError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported with the treatment's name
            raise ExperimentDefinitionError(
                f"treatment {treatment.name!r} raised {type(exc).__name__} when applied to a fresh context: {exc}"
            ) from exc
    return out


def _hypotheses_iv(hypothesis: Hypothesis | None, hypotheses: Iterable[Hypothesis]) -> tuple[Hypothesis, ...]:
    out = ((hypothesis,) if hypothesis is not None else ()) + tuple(hypotheses)
    seen: set[str] = set()
    for index, h in enumerate(out):
        if not isinstance(h, Hypothesis):
            raise ExperimentDefinitionError(f"hypotheses[{index}] is a {type(h).__name__}, not a Hypothesis")
        if h.name in seen:
            raise ExperimentDefinitionError(
                f"two hypotheses are named {h.name!r}; give each a distinct name= (e.g. name='{h.name}_2')"
            )
        seen.add(h.name)
    return out


class Experiment:
    """Compare a baseline with treatments over many seeded replicates.

    Args:
        datasource: where each run's data comes from.
        pipeline: the steps; the last returns a mapping of metrics. A plain
            list of steps is accepted.
        treatments: named changes to the context; each is one condition
            beside ``"baseline"``.
        hypothesis: the primary hypothesis (``result.metrics["hypothesis"]``).
        hypotheses: further hypotheses.
        replicates: runs per condition; replicate ``i`` of every condition
            shares one seed (common random numbers). ``Sequential(max=...)``
            runs them in rounds until every hypothesis is decided (see
            :class:`~crystallize.core.sequential.Sequential`).
        seed: the master seed (default: drawn at random and recorded).
        name: the experiment's name in stores and reports.
        correction: multiple-comparison correction within each family of
            hypotheses (``Hypothesis(family=...)``; all hypotheses share the
            ``"default"`` family unless they name another): ``"holm"``,
            ``"bonferroni"``, ``"fdr_bh"`` or ``None``.
        intervals: ``"per-comparison"`` (each interval at its own level, not
            adjusted for multiplicity) or ``"simultaneous"`` (Bonferroni: the
            family's intervals cover together at the stated level).

    Raises:
        ExperimentDefinitionError: an argument is invalid (the message says which).
        ContextMutationError: a treatment writes a reserved key.
    """

    def __init__(
        self,
        datasource: DataSource,
        pipeline: Pipeline | Sequence[Any],
        treatments: Iterable[Treatment] = (),
        hypothesis: Hypothesis | None = None,
        hypotheses: Iterable[Hypothesis] = (),
        replicates: int | Sequential = 1,
        seed: int | None = None,
        name: str | None = None,
        correction: str | None = "holm",
        intervals: Intervals = "per-comparison",
    ) -> None:
        design = replicates if isinstance(replicates, Sequential) else None
        replicates = _replicates_iv(replicates)
        seed = _seed_iv(seed)
        if correction not in CORRECTIONS:
            raise ExperimentDefinitionError(
                f"correction={correction!r} is not valid; use one of {', '.join(map(repr, CORRECTIONS))}"
            )
        if intervals not in INTERVALS:
            raise ExperimentDefinitionError(
                f"intervals={intervals!r} is not valid; use one of {', '.join(map(repr, INTERVALS))}"
            )
        self.datasource = _datasource_iv(datasource)
        self.pipeline = pipeline if isinstance(pipeline, Pipeline) else Pipeline(pipeline)
        self.treatments = _treatments_iv(treatments)
        self.hypotheses = _hypotheses_iv(hypothesis, hypotheses)
        if design is not None:
            _sequential_iv(self.hypotheses)
        #: The sequential design, or ``None`` for a fixed number of replicates.
        self.sequential: Sequential | None = design
        self.replicates = replicates
        self.seed_given = seed is not None
        self.seed: int = seed if seed is not None else secrets.randbits(32)
        self.name = name or "experiment"
        self.correction = correction
        self.intervals: Intervals = intervals
        check_families(self.hypotheses)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Experiment:
        """Build an experiment from a YAML file (see ``crystallize.cli.config``)."""
        from crystallize.cli.config import load_experiment  # noqa: PLC0415 - YAML support is optional

        return load_experiment(path)

    # -- the plan -------------------------------------------------------------
    @property
    def conditions(self) -> tuple[str, ...]:
        """``"baseline"`` then every treatment's name."""
        return (BASELINE, *(t.name for t in self.treatments))

    def plan(self) -> list[RunSpec]:
        """Every run of this experiment, as data."""
        return plan_runs(self.seed, self.conditions, self.replicates)

    def definition(self) -> dict[str, Any]:
        """What is compared, as JSON-ready data (no environment, no replicate count).

        Each part's identity is computed from its current state (an attribute
        may have changed since an earlier run), and runs use that identity.
        """
        for part in (self.datasource, *self.pipeline.steps):
            part.refresh_identity()
        return {
            "name": self.name,
            "seed": self.seed,
            "datasource": {"name": self.datasource.name, "params": dict(self.datasource.params),
                           "source_hash": self.datasource.source_hash, "code": self.datasource.code_fingerprint},
            "steps": [{"name": s.name, "params": dict(s.params), "step_hash": s.step_hash,
                       "code": s.code_fingerprint, "cacheable": s.is_cacheable} for s in self.pipeline.steps],
            "treatments": [t.describe() for t in self.treatments],
            "hypotheses": [h.describe() for h in self.hypotheses],
            "correction": self.correction,
            "intervals": self.intervals,
            **({"sequential": self.sequential.describe()} if self.sequential else {}),
        }

    def fingerprint(self) -> str:
        """Hash of everything that decides the runs' numbers: data source, steps,
        treatments and seed (not the replicate count, so an experiment can grow)."""
        return _fingerprint(self.definition())

    def provenance(self, planned: Sequence[RunSpec] | None = None) -> dict[str, Any]:
        """Definition, fingerprint, seeds, environment and git state.

        Args:
            planned: the plan, if already made (its seeds are reused).
        """
        seeds = ({str(s.replicate): s.seed for s in planned} if planned is not None
                 else {str(r): replicate_seed(self.seed, r) for r in range(self.replicates)})
        definition = self.definition()
        return {
            "fingerprint": _fingerprint(definition),
            "master_seed": self.seed,
            "seed_given": self.seed_given,
            "replicates": self.replicates,
            "seeds": seeds,
            "definition": definition,
            "pipeline_signature": self.pipeline.signature(),
            "environment": environment(),
            "git": git_state(),
        }

    # -- running ------------------------------------------------------------
    def run(
        self,
        *,
        backend: Any = "serial",
        workers: int | None = None,
        store: Any = None,
        resume: bool = False,
        progress: bool | None = None,
        fail_fast: bool = False,
        timeout: float | None = None,
        callbacks: Sequence[Any] = (),
    ) -> Result:
        """Execute every planned run and verify the hypotheses.

        Args:
            backend: ``"serial"``, ``"threads"``, ``"processes"``, ``"dask"``,
                ``"ray"``, an executor, a Dask client, or a backend object.
            workers: parallel workers for the backend.
            store: where runs are recorded: ``None`` for the default store
                in ``./.crystallize``, a folder path, or ``False`` for none.
            resume: continue the latest run of this exact experiment: runs
                already recorded are loaded, not executed; failed runs run
                again; more replicates extend it. A seed drawn at random
                (``seed=None``) adopts the earlier run's seed.
            progress: show a progress bar (default: on a terminal only).
            fail_fast: stop at the first failed run and raise ``RunFailedError``.
            timeout: seconds a single run may execute on its worker, the same on
                every backend: time spent queued or starting a worker does not
                count (more than 0, at most a year; ``None``: no limit).
            callbacks: listeners with ``on_experiment_start``, ``on_run_complete``
                and ``on_experiment_end`` methods.

        Returns:
            The :class:`Result`. A first Ctrl-C or SIGTERM (in the main thread)
            stops the run cleanly: the finished runs are committed, the stored
            run is marked interrupted and a partial result is returned
            (``result.interrupted``).

        Raises:
            KeyboardInterrupt: a second Ctrl-C or SIGTERM aborted the run at once
                (the finished runs stay committed; ``exc.result`` holds them).
            ExperimentDefinitionError: an argument is invalid (the message says which).
        """
        from crystallize.lifecycle import run_experiment  # noqa: PLC0415 - the run's life, above the model

        return run_experiment(self, backend=backend, workers=workers, store=store, resume=resume,
                              progress=progress, fail_fast=fail_fast, timeout=timeout, callbacks=callbacks)

    def check_run_arguments(self, timeout: Any) -> float | None:
        """Check what may have changed since ``__init__`` (attributes set later) and
        ``run``'s ``timeout``; return the timeout in seconds.

        Raises:
            ExperimentDefinitionError: naming the bad value and what to pass.
        """
        if isinstance(self.replicates, Sequential):  # set after __init__
            _sequential_iv(self.hypotheses)
            self.sequential = self.replicates
        self.replicates = _replicates_iv(self.replicates)
        self.seed = _seed_iv(self.seed)  # type: ignore[assignment]  # never None here
        return _timeout_iv(timeout)

    def __repr__(self) -> str:
        return (f"Experiment(name={self.name!r}, conditions={list(self.conditions)!r}, "
                f"replicates={self.replicates}, seed={self.seed}, hypotheses={[h.name for h in self.hypotheses]})")


def _fingerprint(definition: Mapping[str, Any]) -> str:
    """The fingerprint of a :meth:`Experiment.definition`: what decides the numbers (and, for a
    sequential design, when it stops: its rounds and hypotheses, but not its budget)."""
    steps = [{k: v for k, v in s.items() if k != "cacheable"} for s in definition["steps"]]
    parts: list[Any] = [definition["seed"], definition["datasource"], steps, definition["treatments"]]
    design = definition.get("sequential")
    if design:
        parts += [{k: v for k, v in design.items() if k != "max"}, definition["hypotheses"],
                  definition["correction"]]
    return hash_value(parts)
