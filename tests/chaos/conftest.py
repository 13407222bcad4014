"""Fixtures of the chaos suite: real load, real stores, real child processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.execution.conftest import no_orphans  # noqa: F401 - the fixture, for the chaos tests too

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cpu_load() -> Iterator[None]:
    """Two processes spinning at full speed for the length of the test (the machine is busy)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def child_env(*paths: Path) -> dict[str, str]:
    """The environment of a child Python that can import ``tests.chaos`` and ``paths``."""
    entries = [str(p) for p in paths] + [str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(e for e in entries if e)}
