"""Where runs execute: serial, threads, processes, Dask or Ray, behind one protocol."""

from __future__ import annotations

from crystallize.execution.base import Backend
from crystallize.execution.driver import StopRun, drive
from crystallize.execution.progress import make_progress
from crystallize.execution.resolve import resolve_backend
from crystallize.execution.serial import SerialBackend

__all__ = ["Backend", "SerialBackend", "StopRun", "drive", "make_progress", "resolve_backend"]
