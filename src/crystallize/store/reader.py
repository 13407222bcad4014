"""Reading a store back: experiments, experiment runs, results, records, artifacts.

Nothing is recomputed: a loaded :class:`~crystallize.core.result.Result`
holds the recorded samples, verdicts, errors and provenance.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from crystallize.core.record import RunRecord
from crystallize.core.result import Result
from crystallize.core.verdict import Verdict
from crystallize.store.artifacts import artifact_folder, check_artifact_folder, existing_artifact, read_artifact
from crystallize.store.code import CodeFile, stored_code_files
from crystallize.store.errors import StoreNotFoundError
from crystallize.store.rows import RUN_COLUMNS, loads_cell, record_from_row
from crystallize.store.run_ids import recent_run_ids, resolve_run_id
from crystallize.store.schema import connect, locate, store_error

__all__ = ["ExperimentInfo", "ExperimentRunInfo", "Store"]


@dataclass(frozen=True, slots=True)
class ExperimentInfo:
    """One experiment definition (one fingerprint) in the store."""

    fingerprint: str
    name: str
    created: float
    runs: int
    definition: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ExperimentRunInfo:
    """One experiment run in the store, as listed by :meth:`Store.experiment_runs`.

    ``status`` is ``"running"`` (in progress, or its process died),
    ``"completed"``, ``"interrupted"`` or ``"failed"``. Times are seconds
    since the epoch.
    """

    id: str
    name: str
    fingerprint: str
    status: str
    started: float
    finished: float | None
    seed: int
    replicates: int
    conditions: tuple[str, ...]
    runs_done: int
    runs_failed: int
    verdicts: int
    accepted: int
    sequential: bool = False  # replicates is then the budget, not a count the run must reach

    @property
    def runs_planned(self) -> int:
        """Conditions times replicates (a sequential run's most, its budget)."""
        return len(self.conditions) * self.replicates

    @property
    def runs_progress(self) -> str:
        """``"36/36"``, or for a sequential run ``"30 (up to 600)"``: it stops when decided."""
        return (f"{self.runs_done} (up to {self.runs_planned})" if self.sequential
                else f"{self.runs_done}/{self.runs_planned}")

    @property
    def verdict_summary(self) -> str:
        """E.g. ``"1 of 2 accepted"``, or ``"no verdicts"``."""
        return f"{self.accepted} of {self.verdicts} accepted" if self.verdicts else "no verdicts"

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display: the run's facts and how to load its result."""
        from crystallize.core.rich_html import html_of  # noqa: PLC0415

        return html_of(self)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with ``runs_planned`` and ``verdict_summary``."""
        data = asdict(self)
        data["conditions"] = list(self.conditions)
        data["runs_planned"] = self.runs_planned
        data["verdict_summary"] = self.verdict_summary
        return data


_LIST = """
SELECT r.id, r.name, r.fingerprint, r.status, r.started, r.finished, r.seed, r.replicates, r.conditions,
  (SELECT COUNT(*) FROM runs u WHERE u.experiment_run_id = r.id AND u.replicate < r.replicates AND u.status = 'ok'),
  (SELECT COUNT(*) FROM runs u WHERE u.experiment_run_id = r.id AND u.replicate < r.replicates AND u.status != 'ok'),
  (SELECT COUNT(*) FROM verdicts v WHERE v.experiment_run_id = r.id),
  (SELECT COALESCE(SUM(v.accepted), 0) FROM verdicts v WHERE v.experiment_run_id = r.id),
  CASE WHEN json_valid(r.provenance) THEN json_type(r.provenance, '$.definition.sequential') END
FROM experiment_runs r
"""


class Store:
    """Read access to a store folder (see :func:`crystallize.store.open`).

    Args:
        path: the store folder (default ``./.crystallize``) or its ``.db`` file.

    Reading records, results and listings runs no code; loading a pickled
    artifact does, so artifacts in folders other users can write are refused.

    Raises:
        StoreNotFoundError: there is no store at ``path``.
        StoreVersionError: the store was written by a newer crystallize.
        StoreDamagedError: the database or its write-ahead log is damaged.
    """

    def __init__(self, path: str | os.PathLike[str] = ".crystallize") -> None:
        self.root, self.db_path = locate(path)
        if not self.db_path.is_file():
            raise StoreNotFoundError(str(path))
        self._conn: sqlite3.Connection = connect(self.db_path, create=False)
        self._empty = int(self._sql("PRAGMA user_version").fetchone()[0]) == 0

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def _sql(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise store_error(self.db_path, exc) from exc

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if self._empty:
            return []
        cursor = self._sql(sql, params)
        try:
            return cursor.fetchall()
        except sqlite3.Error as exc:
            raise store_error(self.db_path, exc) from exc

    def _json(self, text: Any, where: str, column: str) -> Any:
        return loads_cell(text, str(self.db_path), where, column)

    # -- listings --------------------------------------------------------------
    def experiments(self) -> list[ExperimentInfo]:
        """Every experiment definition, newest first."""
        rows = self._rows(
            "SELECT e.fingerprint, e.name, e.created, "
            "(SELECT COUNT(*) FROM experiment_runs r WHERE r.fingerprint = e.fingerprint), e.definition "
            "FROM experiments e ORDER BY e.created DESC")
        return [ExperimentInfo(fp, name, float(created), int(n), self._json(d, f"experiment {name!r}", "definition"))
                for fp, name, created, n, d in rows]

    def experiment_runs(self, name: str | None = None) -> list[ExperimentRunInfo]:
        """Every experiment run (of experiment ``name`` if given), newest first."""
        where, params = ("WHERE r.name = ? ", (name,)) if name is not None else ("", ())
        return self._infos(_LIST + where + "ORDER BY r.started DESC, r.rowid DESC", params)

    def _infos(self, sql: str, params: tuple[Any, ...]) -> list[ExperimentRunInfo]:
        rows = self._rows(sql, params)
        return [ExperimentRunInfo(rid, rname, fp, status, float(started), None if fin is None else float(fin),
                                  int(seed), int(reps), tuple(self._json(conds, f"experiment run {rid}", "conditions")),
                                  int(ok), int(bad), int(nv), int(na), seq not in (None, "null"))
                for rid, rname, fp, status, started, fin, seed, reps, conds, ok, bad, nv, na, seq in rows]

    def experiment_run(self, run_id: str) -> ExperimentRunInfo:
        """The listing entry of one experiment run (``run_id`` may be a unique prefix).

        Raises:
            RunIdError: ``run_id`` names no experiment run, or several.
        """
        rid = self.resolve_run_id(run_id)
        return self._infos(_LIST + "WHERE r.id = ?", (rid,))[0]

    def newest_run_id(self) -> str | None:
        """The id of the newest experiment run, or ``None`` in a store with none."""
        if self._empty:
            return None
        try:
            newest = recent_run_ids(self._conn, 1)
        except sqlite3.Error as exc:
            raise store_error(self.db_path, exc) from exc
        return newest[0] if newest else None

    def resolve_run_id(self, prefix: str) -> str:
        """The full id of the experiment run that ``prefix`` starts.

        Raises:
            RunIdError: no run matches (recent ids listed), or several do
                (the matches listed).
        """
        try:
            return resolve_run_id(None if self._empty else self._conn, prefix)
        except sqlite3.Error as exc:
            raise store_error(self.db_path, exc) from exc

    # -- one experiment run ----------------------------------------------------
    def _run_row(self, run_id: str) -> tuple[Any, ...]:
        rid = self.resolve_run_id(run_id)
        row = self._sql("SELECT id, name, status, replicates, conditions, provenance FROM experiment_runs "
                        "WHERE id = ?", (rid,)).fetchone()
        return tuple(row)

    def _records(self, run_id: str, replicates: int, conditions: list[str]) -> list[RunRecord]:
        cursor = self._sql(f"SELECT {RUN_COLUMNS} FROM runs WHERE experiment_run_id = ? AND replicate < ?",
                           (run_id, replicates))
        order = {c: i for i, c in enumerate(conditions)}
        try:
            records = [record_from_row(r, str(self.db_path), run_id) for r in cursor]  # streamed, not fetched whole
        except sqlite3.Error as exc:
            raise store_error(self.db_path, exc) from exc
        records.sort(key=lambda r: (r.replicate, order.get(r.condition, len(order))))
        return records

    def load_records(self, run_id: str) -> list[RunRecord]:
        """Every recorded run of an experiment run, in plan order (replicate, then condition).

        Raises:
            RunIdError: ``run_id`` names no experiment run, or several.
            StoreDamagedError: a cell holds no valid JSON (names the run).
        """
        rid, _, _, replicates, conditions, _ = self._run_row(run_id)
        return self._records(rid, int(replicates), self._json(conditions, f"experiment run {rid}", "conditions"))

    def load_result(self, run_id: str) -> Result:
        """The :class:`Result` of a stored experiment run (``run_id`` may be a unique prefix).

        Samples, verdicts, errors and provenance are as recorded; nothing is
        recomputed. ``interrupted`` is true unless the run completed.
        """
        rid, name, status, replicates, conditions_json, provenance = self._run_row(run_id)
        where = f"experiment run {rid}"
        conditions = self._json(conditions_json, where, "conditions")
        records = self._records(rid, int(replicates), conditions)
        verdicts = [Verdict.from_dict(self._json(d, f"{where}, verdict {position}", "data"))
                    for position, d in self._rows("SELECT position, data FROM verdicts WHERE experiment_run_id = ? "
                                                  "ORDER BY position", (rid,))]
        return Result(name, tuple(conditions), tuple(records), tuple(verdicts),
                      self._json(provenance, where, "provenance"), rid, status != "completed")

    # -- artifacts ---------------------------------------------------------------
    def artifact_path(self, run_id: str, condition: str, replicate: int, name: str) -> Path:
        """The file of artifact ``name`` saved by one run.

        Raises:
            RunIdError: ``run_id`` names no experiment run, or several.
            ArtifactNotFoundError: that run saved no such artifact.
        """
        folder = artifact_folder(self.root, self.resolve_run_id(run_id), condition, replicate)
        path = existing_artifact(folder, name)
        check_artifact_folder(folder)
        return path

    def code_files(self, run_id: str) -> list[CodeFile]:
        """The source of the experiment's own modules as kept when ``run_id`` started (a unique
        prefix is enough; none for a run recorded before code was kept)."""
        rid = self.resolve_run_id(run_id)
        try:
            return stored_code_files(self._conn, rid)
        except sqlite3.Error as exc:
            raise store_error(self.db_path, exc) from exc

    def load_artifact(self, run_id: str, condition: str, replicate: int, name: str) -> Any:
        """Artifact ``name`` of one run: the object if it was pickled, else the file's bytes.

        ``run_id`` is looked up in the database (an id, or a unique prefix);
        anything else is refused, never used as a path.

        Raises:
            RunIdError: ``run_id`` names no experiment run, or several.
            ArtifactNotFoundError: that run saved no such artifact.
            InsecureStoreError: other users can write the artifact or its folders.
        """
        folder = artifact_folder(self.root, self.resolve_run_id(run_id), condition, replicate)
        return read_artifact(folder, name)
