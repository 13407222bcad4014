"""The life of an experiment run: plan, execute, record, analyse, and for a
sequential design, decide whether to plan more.

``Experiment.run`` is a thin entry point to :func:`run_experiment`. This module
is the one place that owns the order of things: it resolves the backend and the
store, opens (or resumes) the stored experiment run, hands the runs to the
backend (round after round for a sequential design, with the same workers),
streams every record to the store, the progress bar and your listeners, and
builds the :class:`~crystallize.core.result.Result` from the records alone.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import warnings
from collections.abc import Sequence
from typing import Any

from crystallize.core.analysis import compute_verdicts
from crystallize.core.design import unreachable_alpha
from crystallize.core.events import Listeners
from crystallize.core.exceptions import CrystallizeWarning, DesignWarning, MissingMetricError, RunFailedError
from crystallize.core.plan import RunSpec, plan_runs
from crystallize.core.record import RunRecord
from crystallize.core.result import Result
from crystallize.core.runner import RunTask
from crystallize.core.sequential_analysis import SequentialOutcome, complete_replicates, sequential_verdicts
from crystallize.execution import StopRun, drive, make_progress, resolve_backend
from crystallize.execution.base import describe as describe_backend
from crystallize.execution.interrupts import StopSignals
from crystallize.execution.rounds import Rounds
from crystallize.stats.warnings import warn
from crystallize.store import resolve_store

__all__ = ["analyse", "run_experiment"]

log = logging.getLogger("crystallize")


def run_experiment(
    experiment: Any,
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
    """Execute every planned run of ``experiment`` and verify its hypotheses
    (see :meth:`Experiment.run <crystallize.core.experiment.Experiment.run>`)."""
    timeout = experiment.check_run_arguments(timeout)
    design = experiment.sequential
    first_look = design.min if design is not None else experiment.replicates
    for message in unreachable_alpha(experiment.hypotheses, len(experiment.treatments), first_look,
                                     experiment.correction):
        warn(message, DesignWarning)
    runner = resolve_backend(backend, workers)
    run_store = resolve_store(store)
    bar = None
    # Objects alive before the runs (imported libraries, the user's data) are set
    # aside from the collector while runs pile up records; otherwise every full
    # collection rescans them all, which costs more than a cheap run. They return
    # to the collector, uncollected garbage included, when the run ends.
    gc.freeze()
    # Ctrl-C and SIGTERM: the first stops the run cleanly, a second aborts (see execution.interrupts)
    with StopSignals():
        try:
            adopt = getattr(run_store, "resume_seed", None)
            if resume and not experiment.seed_given and adopt is not None:
                # A drawn seed cannot match the earlier run's: continue with the seed it used.
                seed = adopt(experiment)
                if seed is not None and seed != experiment.seed:
                    log.info("resume: experiment %r adopts seed %d of its earlier run", experiment.name, seed)
                    experiment.seed = seed
            planned = experiment.plan()
            provenance = experiment.provenance(planned)
            provenance["backend"] = describe_backend(runner)
            run_id, done = run_store.begin({"experiment": experiment, "provenance": provenance}, planned,
                                           resume=resume)
            done = [r for r in done if r.ok]
            provenance["resumed_runs"] = len(done)  # loaded from the store, not executed again
            bar = make_progress(progress)
            collected: list[RunRecord] = []
            listeners = Listeners([run_store, _Guard(experiment, fail_fast), bar, _Collect(collected), *callbacks])
            specs: Sequence[RunSpec]
            if design is None:
                finished = {(r.condition, r.replicate) for r in done}
                specs = [s for s in planned if (s.condition, s.replicate) not in finished]
            else:
                specs = _SequentialRounds(experiment, done, collected, listeners)
            listeners.on_experiment_start(experiment, planned, list(specs))
            task = RunTask(experiment.datasource, experiment.pipeline, {t.name: t for t in experiment.treatments},
                           cache=run_store.cache, artifacts=run_store.artifacts(run_id), name=experiment.name)
            log.info("experiment %r: %d runs planned, %d to execute on %s", experiment.name, len(planned),
                     len(specs), provenance["backend"])
            try:
                records, interrupted = drive(runner, task, specs, listeners, timeout=timeout)
            except BaseException as exc:  # a guard, a listener, the backend or a second Ctrl-C stopped it
                partial = analyse(experiment, done + list(getattr(exc, "records", [])), provenance, run_id,
                                  interrupted=True, verdicts=False)
                with contextlib.suppress(Exception):
                    run_store.finish(partial, status="interrupted" if isinstance(exc, KeyboardInterrupt)
                                     else "failed")
                with contextlib.suppress(AttributeError, TypeError):
                    exc.result = partial  # type: ignore[attr-defined]
                listeners.on_experiment_abort(exc)
                raise
            try:
                result = analyse(experiment, done + records, provenance, run_id, interrupted=interrupted)
            except Exception as exc:  # the analysis failed; the samples are on exc.result and stored
                with contextlib.suppress(Exception):
                    run_store.finish(getattr(exc, "result", None), status="failed")
                raise
            run_store.finish(result, status="interrupted" if interrupted else "completed")
        finally:
            gc.unfreeze()
            run_store.close()  # commits every recorded run, whatever happened
            if bar is not None:
                getattr(bar, "close", lambda: None)()
    listeners.on_experiment_end(result)
    return result


class _SequentialRounds(Rounds):
    """The runs of a sequential design, round by round: after each round the
    records so far are analysed and the next round is planned, until every
    hypothesis is decided or the budget is spent."""

    def __init__(self, experiment: Any, done: list[RunRecord], collected: list[RunRecord],
                 listeners: Listeners) -> None:
        self.experiment = experiment
        self.done = done
        self.collected = collected
        self.listeners = listeners
        self.looked = 0  # looks already announced
        super().__init__(self._plan(self._outcome()))

    def _outcome(self) -> SequentialOutcome:
        e = self.experiment
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the final analysis warns once, at the user's run() line
            return sequential_verdicts(self.done + self.collected, e.hypotheses, [t.name for t in e.treatments],
                                       e.sequential, e.correction, verdicts=False)  # analyse() makes the verdicts

    def _plan(self, outcome: SequentialOutcome) -> list[RunSpec]:
        for look in outcome.looks[self.looked:]:
            self.listeners.on_look(look)
        self.looked = len(outcome.looks)
        if outcome.stop_reason is not None:
            log.info("experiment %r stops after %d replicates: %s", self.experiment.name, outcome.replicates,
                     outcome.stop_reason)
            return []
        e = self.experiment
        records = self.done + self.collected
        have = {(r.condition, r.replicate) for r in records}
        upto = e.sequential.next_look(complete_replicates(records, e.conditions))
        return [s for s in plan_runs(e.seed, e.conditions, upto) if (s.condition, s.replicate) not in have]

    def next_round(self) -> list[RunSpec]:
        """Analyse what has run and plan the next round (empty: stop)."""
        return self._plan(self._outcome())


def _warn_unread(records: Sequence[RunRecord], treatments: Sequence[str]) -> None:
    """One warning per set of unread keys, naming the treatments that set them (a sweep's
    treatments share their keys: one warning, not one per grid cell)."""
    by_keys: dict[tuple[str, ...], list[str]] = {}
    for condition in treatments:
        unread = tuple(sorted({k for r in records if r.condition == condition for k in r.unread}))
        if unread:
            by_keys.setdefault(unread, []).append(condition)
    for unread, names in by_keys.items():
        who = f"treatment {names[0]!r}" if len(names) == 1 else "treatments " + ", ".join(map(repr, names[:3])) + (
            f" and {len(names) - 3} more" if len(names) > 3 else "")
        warn(f"{who} {'sets' if len(names) == 1 else 'set'} {', '.join(unread)}, which no step or data source read; "
             "check the key's spelling", CrystallizeWarning)


def analyse(experiment: Any, records: list[RunRecord], provenance: dict[str, Any], run_id: str | None, *,
            interrupted: bool, verdicts: bool = True) -> Result:
    """The :class:`Result` of ``records``: samples, and (unless ``verdicts=False``) the
    verdicts computed from them alone."""
    order = {c: i for i, c in enumerate(experiment.conditions)}
    ordered = tuple(sorted(records, key=lambda r: (r.replicate, order.get(r.condition, len(order)))))
    name, conditions = experiment.name, experiment.conditions
    result = Result(name, conditions, ordered, (), dict(provenance), run_id, interrupted)
    if not verdicts:
        return result
    _warn_unread(ordered, conditions[1:])
    treatments = [t.name for t in experiment.treatments]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if experiment.sequential is None:
                found = compute_verdicts(ordered, experiment.hypotheses, treatments, experiment.correction,
                                         experiment.intervals)
            else:
                outcome = sequential_verdicts(list(ordered), experiment.hypotheses, treatments, experiment.sequential,
                                              experiment.correction, final=True)
                found = outcome.verdicts
                provenance["sequential"] = {"design": experiment.sequential.describe(),
                                            "stop_reason": "interrupted" if interrupted else outcome.stop_reason,
                                            "stopped_at": outcome.replicates, "looks": outcome.looks}
        for warning in caught:  # shown at the caller's run() line, not inside the library
            warn(warning.message, warning.category)
    except Exception as exc:
        exc.result = result  # type: ignore[attr-defined]  # the samples survive a failed analysis
        raise
    return Result(name, conditions, ordered, tuple(found), dict(provenance), run_id, interrupted)


class _Collect:
    """Keeps every record of this experiment run, for the sequential analysis between rounds."""

    def __init__(self, into: list[RunRecord]) -> None:
        self.into = into

    def on_run_complete(self, record: RunRecord) -> None:
        self.into.append(record)


class _Guard:
    """Stops the run early: at the first failure (``fail_fast``), or when the first
    successful run lacks a metric a hypothesis needs."""

    def __init__(self, experiment: Any, fail_fast: bool) -> None:
        self.metrics = {h.metric: h for h in experiment.hypotheses}
        self.fail_fast = fail_fast
        self.checked = not self.metrics

    def on_run_complete(self, record: RunRecord) -> None:
        if self.checked and not self.fail_fast:
            return
        if self.fail_fast and record.error is not None:
            raise StopRun(RunFailedError(record.error))
        if record.ok and not self.checked:
            self.checked = True
            for metric in self.metrics:
                if metric not in record.metrics:
                    raise StopRun(MissingMetricError(metric, record.metrics, condition=record.condition))
