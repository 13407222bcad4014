"""The tidy tables of a result (samples, verdicts) as CSV, JSON or Parquet."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from crystallize.core.exceptions import CrystallizeError, suggest
from crystallize.core.jsonable import standard_json
from crystallize.core.record import is_number

if TYPE_CHECKING:
    import pandas as pd

    from crystallize.core.result import Result

__all__ = ["EXPORT_FORMATS", "MissingDependencyError", "export_samples", "export_verdicts", "format_from_path",
           "samples_bytes", "verdicts_bytes"]

#: Formats :func:`export_samples` writes.
EXPORT_FORMATS: tuple[str, ...] = ("csv", "json", "parquet")


class MissingDependencyError(CrystallizeError, ImportError):
    """An optional package is needed; the message names the extra that installs it.

    Attributes:
        package: the missing package.
        extra: the crystallize extra that brings it (``"report"``).
    """

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{purpose} needs {package}, which is not installed; "
                         f"install it with: pip install 'crystallize[{extra}]'")


def format_from_path(path: str | Path | None, fmt: str | None, default: str = "csv") -> str:
    """The export format: ``fmt`` when given, else the suffix of ``path`` when it is
    one of :data:`EXPORT_FORMATS` (``.csv``, ``.json``, ``.parquet``), else ``default``."""
    if fmt is not None:
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".") if path is not None else ""
    return suffix if suffix in EXPORT_FORMATS else default


def _check_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}{suggest(fmt, EXPORT_FORMATS)}; "
                         f"use one of {', '.join(EXPORT_FORMATS)}")


def _encode(frame: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    if fmt == "json":
        return standard_json(frame.to_dict(orient="records"), indent=1).encode()
    try:
        import pyarrow  # noqa: F401, PLC0415 - optional dependency
    except ImportError as exc:
        raise MissingDependencyError("pyarrow", "report", "exporting Parquet") from exc
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()


def samples_bytes(result: Result, fmt: str) -> bytes:
    """``result.to_dataframe()`` encoded as ``fmt`` (``csv``, ``json`` or ``parquet``).

    JSON is an array of row objects (condition, replicate, seed, metric,
    value, status), in standard JSON: NaN and infinities are ``null``. Parquet
    keeps ``value`` numeric; non-numeric metric values go to a ``value_text`` column.

    Raises:
        ValueError: an unknown format (with the nearest valid one).
        MissingDependencyError: Parquet without pyarrow.
    """
    _check_format(fmt)
    frame = result.to_dataframe()
    return _encode(_typed(frame) if fmt == "parquet" else frame, fmt)


def verdicts_bytes(result: Result, fmt: str) -> bytes:
    """``result.verdicts_frame()`` encoded as ``fmt`` (``csv``, ``json`` or ``parquet``):
    one row per verdict; in JSON, missing numbers are ``null``.

    Raises:
        ValueError: an unknown format (with the nearest valid one).
        MissingDependencyError: Parquet without pyarrow.
    """
    _check_format(fmt)
    return _encode(result.verdicts_frame(), fmt)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet columns hold one type: numbers stay in ``value`` (as float); any
    other metric value moves, as text, to a ``value_text`` column."""
    numeric = frame["value"].map(is_number)
    if numeric.all():
        return frame.astype({"value": float})
    out = frame.copy()
    out["value_text"] = [None if n else str(v) for v, n in zip(frame["value"], numeric)]
    out["value"] = [float(v) if n else float("nan") for v, n in zip(frame["value"], numeric)]
    return out


def _write(data: bytes, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def export_samples(result: Result, fmt: str, path: str | Path) -> Path:
    """Write the tidy samples of ``result`` to ``path`` as ``fmt``; return the path.

    Raises:
        ValueError: an unknown format.
        MissingDependencyError: Parquet without pyarrow.
    """
    return _write(samples_bytes(result, fmt), path)


def export_verdicts(result: Result, fmt: str, path: str | Path) -> Path:
    """Write the tidy verdicts of ``result`` to ``path`` as ``fmt``; return the path.

    Raises:
        ValueError: an unknown format.
        MissingDependencyError: Parquet without pyarrow.
    """
    return _write(verdicts_bytes(result, fmt), path)
