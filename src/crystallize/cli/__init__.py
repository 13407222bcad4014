"""The ``crystallize`` command (experiment files themselves are read by :mod:`crystallize.config`)."""

from __future__ import annotations

from crystallize.cli.target import load_experiment
from crystallize.config import ConfigError

__all__ = ["ConfigError", "load_experiment"]
