"""Resume: which earlier experiment run to continue, and what changed when none fits.

An experiment run is continued only when its name and fingerprint (data
source, steps, treatments, seed) equal the current ones. Otherwise, if an earlier run
of the same name exists, the stored definition is compared with the current
one and every difference is named, so a changed experiment is never resumed
silently. Growing a run whose verdicts were already computed is optional
stopping, and is warned about.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from crystallize.core.fingerprint import stable_json
from crystallize.core.provenance import VersionChange, version_changes
from crystallize.stats.warnings import warn
from crystallize.store.errors import OptionalStoppingWarning, PackageVersionsChangedWarning

__all__ = ["Earlier", "adopt_seed", "describe_changes", "environment_changes", "latest_by_fingerprint", "latest_by_name",
           "warn_if_grown", "warn_if_versions_changed"]

#: How many earlier runs of a name are tried when adopting a seed.
_SEED_CANDIDATES = 50


class Earlier(NamedTuple):
    """An earlier experiment run found for resume."""

    id: str
    fingerprint: str
    seed: int
    started: float
    definition: dict[str, Any]


_SELECT = ("SELECT r.id, r.fingerprint, r.seed, r.started, e.definition FROM experiment_runs r "
           "JOIN experiments e ON e.fingerprint = r.fingerprint ")


def _earlier(row: Sequence[Any] | None) -> Earlier | None:
    if row is None:
        return None
    return Earlier(row[0], row[1], int(row[2]), float(row[3]), json.loads(row[4]))


def latest_by_fingerprint(conn: sqlite3.Connection, fingerprint: str, name: str) -> Earlier | None:
    """The newest experiment run named ``name`` with ``fingerprint``."""
    row = conn.execute(_SELECT + "WHERE r.fingerprint = ? AND r.name = ? ORDER BY r.started DESC, r.rowid DESC "
                       "LIMIT 1", (fingerprint, name)).fetchone()
    return _earlier(row)


def latest_by_name(conn: sqlite3.Connection, name: str) -> Earlier | None:
    """The newest experiment run named ``name``."""
    row = conn.execute(_SELECT + "WHERE r.name = ? ORDER BY r.started DESC, r.rowid DESC LIMIT 1",
                       (name,)).fetchone()
    return _earlier(row)


def adopt_seed(conn: sqlite3.Connection, experiment: Any) -> int | None:
    """The seed of the newest run named like ``experiment`` whose definition matches
    apart from the seed, or ``None``.

    Used when the experiment's seed was drawn at random (``seed=None``): the
    random draw of this process cannot match the earlier one, so the earlier
    seed is adopted to resume it.
    """
    rows = conn.execute(
        "SELECT seed, fingerprint FROM experiment_runs WHERE name = ? GROUP BY seed, fingerprint "
        "ORDER BY MAX(started) DESC LIMIT ?",
        (experiment.name, _SEED_CANDIDATES),
    ).fetchall()
    original = experiment.seed
    try:
        for seed, fingerprint in rows:
            experiment.seed = int(seed)
            if experiment.fingerprint() == fingerprint:
                return int(seed)
    finally:
        experiment.seed = original
    return None


def _short(value: Any) -> str:
    text = stable_json(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _params(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    parts = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            parts.append(f"{key} removed (was {_short(old[key])})")
        elif key not in old:
            parts.append(f"{key} added ({_short(new[key])})")
        elif stable_json(old[key]) != stable_json(new[key]):
            parts.append(f"{key}: {_short(old[key])} -> {_short(new[key])}")
    return ", ".join(parts)


def _datasource(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    if old.get("name") != new.get("name"):
        return [f"the data source changed: {old.get('name')!r} -> {new.get('name')!r}"]
    out = []
    if stable_json(old.get("params")) != stable_json(new.get("params")):
        out.append(f"the data source {new.get('name')!r} has other params "
                   f"({_params(old.get('params') or {}, new.get('params') or {})})")
    if old.get("code") != new.get("code"):
        out.append(f"the code of the data source {new.get('name')!r} changed")
    if not out and old.get("source_hash") != new.get("source_hash"):
        out.append(f"the private attributes of the data source {new.get('name')!r} changed")
    return out


def _steps(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[str]:
    old_names = [s.get("name") for s in old]
    new_names = [s.get("name") for s in new]
    if old_names != new_names:
        return [f"the pipeline's steps changed: {old_names} -> {new_names}"]
    out = []
    for index, (before, after) in enumerate(zip(old, new)):
        label = f"step {after.get('name')!r} (#{index})"
        if before.get("code") != after.get("code"):
            out.append(f"the code of {label} changed (or a function of its module that it calls)")
        if stable_json(before.get("params")) != stable_json(after.get("params")):
            out.append(f"the params of {label} changed ({_params(before.get('params') or {}, after.get('params') or {})})")
        same_code_and_params = before.get("code") == after.get("code") and \
            stable_json(before.get("params")) == stable_json(after.get("params"))
        if same_code_and_params and before.get("step_hash") != after.get("step_hash"):
            out.append(f"the private attributes of {label} changed")
        if bool(before.get("cacheable")) != bool(after.get("cacheable")):
            out.append(f"{label} was made {'cacheable' if after.get('cacheable') else 'not cacheable'}")
    return out


def _treatments(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[str]:
    before = {t.get("name"): t for t in old}
    after = {t.get("name"): t for t in new}
    out = [f"treatment {name!r} was added" for name in after if name not in before]
    out += [f"treatment {name!r} was removed" for name in before if name not in after]
    for name in after:
        if name not in before or stable_json(before[name]) == stable_json(after[name]):
            continue
        b, a = before[name], after[name]
        if "values" in b and "values" in a:
            out.append(f"treatment {name!r} sets other values ({_params(b['values'], a['values'])})")
        else:
            out.append(f"treatment {name!r} changed (its function's code or its values)")
    if not out and [t.get("name") for t in old] != [t.get("name") for t in new]:
        out.append(f"the treatments' order changed: {list(before)} -> {list(after)}")
    return out


def describe_changes(old: Mapping[str, Any], new: Mapping[str, Any], *, seed_given: bool = True) -> list[str]:
    """Every difference between two ``Experiment.definition()`` dicts that changes the runs.

    Args:
        old: the stored definition.
        new: the current definition.
        seed_given: whether the current seed was chosen by the user (a drawn
            seed is not reported as a change).

    Returns:
        One readable line per difference: the seed, the data source, a step's
        code or params, a treatment.
    """
    changes = []
    if seed_given and old.get("seed") != new.get("seed"):
        changes.append(f"the seed changed: {old.get('seed')} -> {new.get('seed')}")
    changes += _datasource(old.get("datasource") or {}, new.get("datasource") or {})
    changes += _steps(old.get("steps") or [], new.get("steps") or [])
    changes += _treatments(old.get("treatments") or [], new.get("treatments") or [])
    return changes


def warn_if_grown(run_id: str, name: str, before: int, replicates: int, verdicts: int) -> None:
    """Warn (:class:`OptionalStoppingWarning`) when a run that already had verdicts gets more replicates.

    Looking at verdicts, adding replicates, and stopping once one is accepted
    took a 5% false-positive rate to 16.5% with 6 looks: the verdicts of a
    fixed design hold only for a replicate count fixed in advance.
    """
    if verdicts and replicates > before:
        warn(f"experiment run {run_id} of {name!r} already had verdicts at {before} replicates; growing it to "
             f"{replicates} after looking at them, and stopping once a verdict is accepted, is optional stopping: "
             "it inflates the false-positive rate (5% becomes about 16.5% with 6 looks). Fix the replicate count "
             "before looking, or start a new experiment run; to look along the way, use a sequential design: "
             "Experiment(replicates=Sequential(max=...)) with SequentialTTest()", OptionalStoppingWarning)


def environment_changes(provenance: str | None, now: Mapping[str, Any] | None
                        ) -> tuple[list[VersionChange], list[Mapping[str, Any]]]:
    """What a resumed run's stored ``provenance`` cell says of its environment against ``now``.

    Returns:
        The versions that differ (Python, and the packages both recorded: one run
        may have imported a library the other had not yet), and the environments
        the run was recorded under before, oldest first: those the cell kept, plus
        its own when versions differ (so the versions that made its earlier runs
        are not lost when the environment is updated). Both are empty when the
        cell is unreadable: resume goes on.
    """
    try:
        cell = json.loads(provenance or "{}")
    except ValueError:
        return [], []
    if not isinstance(cell, Mapping):
        return [], []
    kept = [e for e in cell.get("earlier_environments") or [] if isinstance(e, Mapping)]
    stored = cell.get("environment")
    if not isinstance(stored, Mapping):
        return [], kept
    changes = version_changes(stored, now, common_only=True)
    return changes, [*kept, stored] if changes else kept


def warn_if_versions_changed(run_id: str, name: str, changes: Sequence[VersionChange]) -> None:
    """Warn (:class:`PackageVersionsChangedWarning`) when a resumed run's packages have other
    versions now (``changes``, from :func:`environment_changes`).

    Args:
        run_id: the experiment run resumed.
        name: its experiment's name.
        changes: the versions that differ.
    """
    if changes:
        listed = ", ".join(map(str, changes))
        warn(f"experiment run {run_id} of {name!r} was recorded with other package versions than this process "
             f"has: {listed}; its earlier runs and the runs made now come from different library code. Start a new "
             "experiment run (resume=False) to compare like with like, or reinstall the versions it recorded",
             PackageVersionsChangedWarning)
