"""The ``crystallize`` command: run experiments, list, show, report, export, compare and plan runs."""

from __future__ import annotations

import dataclasses
import time
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from crystallize.cli import stored
from crystallize.cli.console import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    command_output,
    make_console,
    report_error,
    show_library_log,
)
from crystallize.core.result import Result
from crystallize.core.safe_text import printable

__all__ = ["cli", "main"]

BACKENDS = ("serial", "threads", "processes", "dask", "ray")


class _State:
    """Options of the command group, shared with every command."""

    def __init__(self) -> None:
        self.store = Path(".crystallize")
        self.debug = False


pass_state = click.make_pass_decorator(_State, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path), default=".crystallize",
              show_default=True, help="The run store folder.")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logging.")
@click.version_option(package_name="crystallize", message="crystallize %(version)s")
@pass_state
def cli(state: _State, store_path: Path, debug: bool) -> None:
    """Controlled, reproducible experiments: run them, then read their verdicts.

    A run id may be abbreviated to any unique prefix. Exit status: 0 on
    success, 1 when the experiment itself failed, 2 on a usage or definition
    error.
    """
    state.store = store_path
    state.debug = debug
    if debug:
        import logging  # noqa: PLC0415

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    else:
        show_library_log()


@cli.command()
@click.argument("target")
@click.option("--replicates", "-n", type=click.IntRange(min=1),
              help="Run this fixed number of replicates (also for a sequential experiment).")
@click.option("--sequential", is_flag=True,
              help="Run in rounds until every hypothesis is decided; needs anytime-valid tests and --max-replicates.")
@click.option("--max-replicates", type=click.IntRange(min=2),
              help="Sequential: the budget, at most this many replicates per condition.")
@click.option("--batch", type=click.IntRange(min=1), help="Sequential: replicates per condition each round [5].")
@click.option("--min-replicates", type=click.IntRange(min=2),
              help="Sequential: replicates per condition before the first look [5].")
@click.option("--seed", "-s", type=click.IntRange(min=0), help="Override the master seed.")
@click.option("--backend", "-b", type=click.Choice(BACKENDS), default="serial", show_default=True,
              help="Where the runs execute.")
@click.option("--workers", "-w", type=click.IntRange(min=1), help="Parallel workers for the backend.")
@click.option("--resume", is_flag=True, help="Continue the latest run of this exact experiment.")
@click.option("--no-progress", is_flag=True,
              help="Hide the progress bar (and, without a terminal, the progress lines on stderr).")
@click.option("--treatment", "-t", "sweep", multiple=True, metavar="KEY=V1,V2",
              help="Sweep a context key instead of the experiment's treatments; several -t make a grid.")
@pass_state
def run(state: _State, target: str, replicates: int | None, sequential: bool, max_replicates: int | None,
        batch: int | None, min_replicates: int | None, seed: int | None, backend: str, workers: int | None,
        resume: bool, no_progress: bool, sweep: tuple[str, ...] = ()) -> None:
    """Run TARGET and print its summary and run id.

    TARGET is an experiment file (FILE.yaml) or 'module:attr' naming an
    Experiment, or a function of no arguments returning one
    ('path/to/file.py:attr' works too). --sequential turns it into a
    sequential experiment; --max-replicates, --batch and --min-replicates
    alone change the design of one that is sequential already (raise
    --max-replicates with --resume to extend a run that spent its budget).
    """
    from crystallize.cli.target import load_target, replicates_override, with_overrides  # noqa: PLC0415

    if no_progress and not state.debug:
        show_library_log(quiet=True)
    experiment = load_target(target)
    design = replicates_override(experiment, replicates=replicates, sequential=sequential,
                                 max_replicates=max_replicates, batch=batch, min_replicates=min_replicates)
    from crystallize.cli.sweep import sweep_treatments  # noqa: PLC0415

    experiment = with_overrides(experiment, replicates=design, seed=seed,
                                treatments=sweep_treatments(sweep) if sweep else None)
    try:
        result = experiment.run(backend=backend, workers=workers, store=str(state.store), resume=resume,
                                progress=False if no_progress else None)
    except Exception as exc:
        rescued = getattr(exc, "result", None)
        if isinstance(rescued, Result):  # the store failed, or the analysis: the runs survive in a file
            stored.print_summary(rescued)
            path = rescue_result(rescued, experiment.name)
            saved = f"the result (every run) was saved to {path}" if path else "the result could not be saved anywhere"
            raise CliError(f"{exc}; {saved}", EXIT_FAILED) from exc
        raise
    stored.print_summary(result)
    if result.run_id:
        click.echo(f"run id: {result.run_id}")
    if result.interrupted:
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if result.records and not any(r.ok for r in result.records):
        raise CliError("every run failed; see the failures above", EXIT_FAILED)


def rescue_result(result: Result, name: str) -> Path | None:
    """Write ``result`` as JSON to the current folder, or else the temporary one; return the path."""
    import tempfile  # noqa: PLC0415

    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60] or "experiment"
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        path = folder / f"{safe}-result-{stamp}.json"
        try:
            result.to_json(path)
        except OSError:
            continue
        return path
    return None


def output_options(command: Any) -> Any:
    """``--format table|tsv|json`` and ``--json`` (the same as ``--format json``)."""
    command = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON (schema_version 1, see the README); the same as --format json.")(command)
    return click.option("--format", "-f", "fmt", type=click.Choice(["table", "tsv", "json"]),
                        help="table (box drawing only on a terminal unless asked for), tsv or json "
                             "[table].")(command)


def output_format(fmt: str | None, as_json: bool) -> str | None:
    """The format asked for: ``"json"``, ``"tsv"``, ``"table"``, or ``None`` (a table, boxed on a terminal)."""
    if as_json and fmt not in (None, "json"):
        raise CliError(f"--json and --format {fmt} ask for two formats: give one")
    return "json" if as_json else fmt


@cli.command(name="list")
@click.option("--name", help="Only runs of the experiment with this name.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many.")
@output_options
@pass_state
def list_runs(state: _State, name: str | None, limit: int, fmt: str | None, as_json: bool) -> None:
    """List the experiment runs in the store, newest first."""
    from crystallize.cli import machine  # noqa: PLC0415

    fmt = output_format(fmt, as_json)
    with stored.opened(state.store) as store:
        rows = list(store.experiment_runs(name))
        names = [] if rows or name is None else [e.name for e in store.experiments()]
    if name is not None and not rows:
        raise stored.no_run_named(name, names)
    if fmt == "json":
        click.echo(machine.dumps(machine.runs_document(rows[:limit], total=len(rows), store=str(state.store))))
    elif fmt == "tsv":
        click.echo(machine.runs_rows(rows[:limit]))
    else:
        stored.print_runs(rows[:limit], total=len(rows), boxes=fmt == "table" or None)


@cli.command()
@click.argument("run_id", default=stored.LATEST, required=False)
@click.option("--errors", "errors", flag_value="errors", help="Also list every failed run.")
@click.option("--tracebacks", "errors", flag_value="tracebacks", help="Also list every failed run with its traceback.")
@click.option("--code", is_flag=True, help="Print the source of the experiment's own modules as the run recorded it.")
@output_options
@pass_state
def show(state: _State, run_id: str, errors: str | None, fmt: str | None, as_json: bool, code: bool = False) -> None:
    """Print the summary of stored run RUN_ID (default: latest, the newest run)."""
    from crystallize.cli import machine  # noqa: PLC0415

    fmt = output_format(fmt, as_json)
    if code:
        from crystallize.cli.stored_code import print_code  # noqa: PLC0415

        return print_code(state.store, run_id)
    result, info = stored.load_with_info(state.store, run_id)
    if fmt == "json":
        click.echo(machine.dumps(machine.run_document(result, info)))
        return
    if fmt == "tsv":
        click.echo(machine.run_rows(result))
        return
    if info.status == "running":  # recorded so far; not interrupted (or its process died unnoticed)
        result = dataclasses.replace(result, interrupted=False)
        stored.print_running(info)
    stored.print_summary(result, boxes=fmt == "table" or None)
    if errors:
        for key, error in result.errors.items():
            where = f" in step {error.step!r}" if error.step else ""
            click.echo(printable(f"{key}{where}: {error.type}: {error.message}"))
            if errors == "tracebacks" and error.traceback:
                click.echo(printable(error.traceback.rstrip(), newlines=True) + "\n")
    click.echo(f"run id: {result.run_id}")


@cli.command()
@click.argument("run_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="report.html",
              show_default=True, help="Where to write the report.")
@pass_state
def report(state: _State, run_id: str, output: Path) -> None:
    """Write the HTML report of run RUN_ID (one file, opens offline)."""
    from crystallize.report.html import write_report  # noqa: PLC0415

    path = write_report(stored.load(state.store, run_id), output)
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("run_id")
@click.option("--format", "-f", "fmt", type=click.Choice(["csv", "json", "parquet"]),
              help="Output format [default: the output file's suffix, else csv].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: stdout for csv and json, <run id>.parquet for parquet).")
@click.option("--verdicts", is_flag=True, help="Export the verdicts (one row per hypothesis and treatment) "
              "instead of the samples.")
@pass_state
def export(state: _State, run_id: str, fmt: str | None, output: Path | None, verdicts: bool) -> None:
    """Export the samples (or, with --verdicts, the verdicts) of run RUN_ID as a tidy table.

    Samples: condition, replicate, seed, metric, value, status (failed runs
    included, value empty). Verdicts: the columns of Result.verdicts_frame().
    """
    from crystallize.report.export import format_from_path, samples_bytes, verdicts_bytes  # noqa: PLC0415

    result = stored.load(state.store, run_id)
    fmt = format_from_path(output, fmt)
    data = (verdicts_bytes if verdicts else samples_bytes)(result, fmt)
    if output is None and fmt != "parquet":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    path = output or Path(f"{(result.run_id or 'samples')[:12]}{'-verdicts' if verdicts else ''}.parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    rows = f"{len(result.verdicts)} verdicts" if verdicts else f"{len(result.to_dataframe())} rows"
    click.echo(f"wrote {path} ({rows})")


@cli.command()
@click.argument("run_a")
@click.argument("run_b")
@output_options
@pass_state
def compare(state: _State, run_a: str, run_b: str, fmt: str | None, as_json: bool) -> None:
    """Show what differs between runs RUN_A and RUN_B and how the metrics moved."""
    from crystallize.cli import machine  # noqa: PLC0415
    from crystallize.cli.compare import render_comparison  # noqa: PLC0415

    fmt = output_format(fmt, as_json)
    a, b = stored.load(state.store, run_a), stored.load(state.store, run_b)
    if fmt == "json":
        click.echo(machine.dumps(machine.comparison_document(a, b)))
    elif fmt == "tsv":
        click.echo(machine.comparison_rows(a, b))
    else:
        make_console(boxes=fmt == "table" or None).print(render_comparison(a, b))


@cli.command()
@click.argument("run_id")
@click.option("--effect", type=float, required=True,
              help="The effect to detect, in the metric's units, in the direction each hypothesis claims.")
@click.option("--power", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8,
              show_default=True, help="The chance of detecting the effect.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="The level [each hypothesis's alpha]; shared among its family's comparisons under a correction.")
@click.option("--metric", help="Only the hypotheses about this metric.")
@click.option("--treatment", help="Only this treatment.")
@click.option("--json", "as_json", is_flag=True, help="Print the plans as JSON.")
@pass_state
def plan(state: _State, run_id: str, effect: float, power: float, alpha: float | None, metric: str | None,
         treatment: str | None, as_json: bool) -> None:
    """Plan replicates for an effect from stored run RUN_ID: fixed n and sequential.

    For every hypothesis and treatment, from the spread of the run's paired
    differences: the replicates a fixed paired t-test needs, and the
    sequential budget with the expected and median stopping counts.
    """
    import json  # noqa: PLC0415

    from crystallize.cli.plan import notes, plan_rows, render_plans  # noqa: PLC0415

    result = stored.load(state.store, run_id)
    rows = plan_rows(result, effect=effect, power=power, alpha=alpha, metric=metric, treatment=treatment)
    if as_json:
        click.echo(json.dumps({"run_id": result.run_id, "name": result.name, "effect": effect, "power": power,
                               "plans": [row.as_dict() for row in rows]}, indent=2))
        return
    console = make_console()
    console.print(render_plans(result, rows, effect=effect, power=power))
    for line in notes(rows):
        console.print(line)


@cli.group()
def cache() -> None:
    """Inspect or clear the step cache (<store>/cache/)."""


@cache.command(name="info")
@pass_state
def cache_info(state: _State) -> None:
    """Print the number of cache entries and their size."""
    entries, size = stored.cache_usage(state.store)
    click.echo(f"cache {state.store / 'cache'}: {entries} entries, {stored.human_bytes(size)} ({size} bytes)")


@cache.command(name="clear")
@pass_state
def cache_clear(state: _State) -> None:
    """Delete every cache entry (runs and artifacts are kept)."""
    entries, size = stored.clear_cache(state.store)
    click.echo(f"removed {entries} cache entries ({stored.human_bytes(size)}) from {state.store / 'cache'}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status.

    Args:
        argv: arguments (default: ``sys.argv[1:]``).
    """
    state = _State()
    try:
        with command_output():
            outcome: Any = cli.main(args=list(argv) if argv is not None else None, prog_name="crystallize",
                                    standalone_mode=False, obj=state)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - every error becomes one line and a status
        return report_error(exc, debug=state.debug)
    return int(outcome) if isinstance(outcome, int) else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
