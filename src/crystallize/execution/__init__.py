"""Where runs execute: serial, threads, processes, Dask or Ray, behind one protocol."""

from __future__ import annotations

from crystallize.execution.base import Backend
from crystallize.execution.driver import StopRun, drive
from crystallize.execution.errors import BackendError, MissingExtraError, SharedRandomStateError, TooManyTimeoutsError
from crystallize.execution.executor import ExecutorBackend
from crystallize.execution.processes import ProcessesBackend
from crystallize.execution.progress import make_progress
from crystallize.execution.resolve import resolve_backend
from crystallize.execution.serial import SerialBackend
from crystallize.execution.threads import ThreadsBackend

__all__ = [
    "Backend",
    "BackendError",
    "ExecutorBackend",
    "MissingExtraError",
    "ProcessesBackend",
    "SerialBackend",
    "SharedRandomStateError",
    "StopRun",
    "ThreadsBackend",
    "TooManyTimeoutsError",
    "drive",
    "make_progress",
    "resolve_backend",
]
