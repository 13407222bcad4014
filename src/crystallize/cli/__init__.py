"""The ``crystallize`` command and experiments defined in YAML files."""

from __future__ import annotations

from crystallize.cli.config import ConfigError, load_experiment

__all__ = ["ConfigError", "load_experiment"]
