"""The report's closing sections: failed runs and provenance."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crystallize.core.provenance import version_changes
from crystallize.report.markup import code_json, esc, facts, raw, table

if TYPE_CHECKING:
    from crystallize.core.result import Result

__all__ = ["failures_section", "provenance_section", "timestamp"]

_MAX_FAILURES = 200
_MAX_SEEDS = 1000


def timestamp(seconds: float | None) -> str | None:
    """A UNIX time as ``YYYY-MM-DD HH:MM:SS UTC`` (``None`` for unknown)."""
    if not seconds:
        return None
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def failures_section(result: Result) -> str:
    """Every failed run: where, which step, which exception, and its traceback."""
    errors = list(result.errors.values())
    if not errors:
        return '<section id="failures"><h2>Failures</h2><p>No run failed.</p></section>'
    rows = []
    for error in errors[:_MAX_FAILURES]:
        trace = (raw(f"<details><summary>traceback</summary><pre>{esc(error.traceback)}</pre></details>")
                 if error.traceback else "")
        rows.append([f"{error.condition}/{error.replicate}", error.step or "—", (error.type, "code"),
                     error.message, trace])
    more = (f"<p>… and {len(errors) - _MAX_FAILURES} more failed runs (see the exported records).</p>"
            if len(errors) > _MAX_FAILURES else "")
    by_condition: dict[str, int] = {}
    for error in errors:
        by_condition[error.condition] = by_condition.get(error.condition, 0) + 1
    summary = ", ".join(f"{esc(c)}: {n}" for c, n in by_condition.items())
    return (f'<section id="failures"><h2>Failures</h2><p class="warning">{len(errors)} of '
            f"{len(result.records)} runs failed ({summary}). Failed runs are left out of the samples.</p>"
            f"{table(['run', 'step', 'error', 'message', ''], rows, cls='failures stack')}{more}</section>")


def _code_rows(definition: Mapping[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    source = definition.get("datasource") or {}
    if source:
        rows.append(["data source", source.get("name"), (code_json(source.get("params", {})), "code"),
                     (source.get("code"), "code"), "—"])
    for i, step in enumerate(definition.get("steps") or []):
        rows.append([f"step {i}", step.get("name"), (code_json(step.get("params", {})), "code"),
                     (step.get("code"), "code"), (step.get("step_hash"), "code")])
    return rows


def _git(prov: Mapping[str, Any]) -> str | None:
    git = prov.get("git")
    if not isinstance(git, Mapping) or not git.get("commit"):
        return "not a git work tree"
    return f"{git['commit']}{' (uncommitted changes)' if git.get('dirty') else ''}"


def _earlier_environments(prov: Mapping[str, Any]) -> list[str]:
    """What changed since each environment a resumed run was recorded under before."""
    earlier = [e for e in prov.get("earlier_environments") or [] if isinstance(e, Mapping)]
    if not earlier:
        return []
    now = prov.get("environment") or {}
    items = [f"{', '.join(map(str, version_changes(e, now, common_only=True))) or 'no common package changed'}"
             for e in earlier]
    return ["<h3>Earlier environments</h3><p>This experiment run was resumed under other package versions: "
            "its earlier runs were made with the versions on the left.</p>",
            "<ul>" + "".join(f"<li><code>{esc(item)}</code></li>" for item in items) + "</ul>"]


def provenance_section(result: Result) -> str:
    """Seeds, code fingerprints, the git commit and the environment."""
    prov = result.provenance
    definition = prov.get("definition") or {}
    started = [r.started for r in result.records if r.started]
    finished = [r.started + r.duration for r in result.records if r.started]
    seed = prov.get("master_seed")
    seed_text = None if seed is None else f"{seed} ({'given' if prov.get('seed_given') else 'drawn at random'})"
    parts = ['<section id="provenance"><h2>Provenance</h2>', facts([
        ("run id", result.run_id or "not stored"),
        ("experiment fingerprint", prov.get("fingerprint")),
        ("pipeline signature", prov.get("pipeline_signature")),
        ("master seed", seed_text),
        ("replicates", prov.get("replicates")),
        ("backend", prov.get("backend")),
        ("correction", definition.get("correction", "—") or "none"),
        ("git commit", _git(prov)),
        ("first run started", timestamp(min(started)) if started else None),
        ("last run finished", timestamp(max(finished)) if finished else None),
    ])]
    code = _code_rows(definition)
    if code:
        parts.append("<h3>Code</h3>")
        parts.append(table(["part", "name", "params", "code fingerprint", "step hash"], code, cls="stack"))
    treatments = definition.get("treatments") or []
    if treatments:
        parts.append("<h3>Treatments</h3>")
        parts.append(table(["treatment", "sets"], [
            [t.get("name"), (code_json(t["values"]) if "values" in t else f"function, code {t.get('code')}",
                             "code")] for t in treatments]))
    seeds = prov.get("seeds") or {}
    if seeds:
        ordered = sorted(seeds.items(), key=lambda kv: int(kv[0]))
        rows = [[(str(r), "num"), (str(s), "code")] for r, s in ordered[:_MAX_SEEDS]]
        more = (f"<p>… and {len(seeds) - _MAX_SEEDS:,} more, all derived from the master seed "
                "(result.seeds has them).</p>" if len(seeds) > _MAX_SEEDS else "")
        parts.append(f"<details><summary>Seeds of the {len(seeds):,} replicates (shared by every condition)"
                     f"</summary>{table(['replicate', 'seed'], rows)}{more}</details>")
    env = prov.get("environment") or {}
    if env:
        parts.append("<h3>Environment</h3>")
        parts.append(facts([(k, env.get(k)) for k in ("python", "implementation", "platform", "host") if k in env]))
        packages = env.get("packages") or {}
        if packages:
            parts.append(table(["package", "version"], [[name, (v, "code")] for name, v in sorted(packages.items())]))
    parts.extend(_earlier_environments(prov))
    parts.append("</section>")
    return "".join(parts)
