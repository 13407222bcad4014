"""Experiment folders written on the fly (a steps module beside a YAML file), and helpers that
load a file expecting its refusal or run the installed command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from crystallize import Experiment
from crystallize.config import ConfigError

#: The installed command beside this interpreter (``None`` if it is not installed).
COMMAND = shutil.which("crystallize", path=str(Path(sys.executable).parent))

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "yaml_quickstart"

STEPS = '''
from crystallize import DataSource, PipelineStep, data_source, pipeline_step
from crystallize.core.stat_test import StatisticalTest


@data_source
def noisy(ctx, *, n=30, shift=0.0):
    return ctx.rng.normal(shift, 1.0, n)


class Gaussian(DataSource):
    def __init__(self, n=10, shift=0.0):
        self.n = n
        self.shift = shift

    def fetch(self, ctx):
        return ctx.rng.normal(ctx.get("shift", self.shift), 1.0, self.n)


@pipeline_step
def summarise(data, *, scale=1.0):
    return {"mean": float(data.mean() * scale), "spread": float(data.std())}


class Offset(PipelineStep):
    def __init__(self, by=0.0):
        self.by = by

    def __call__(self, data, ctx):
        return data + self.by


offset_by_one = Offset(by=1.0)
not_a_step = 42


def plain(data):
    return data


class AlwaysSignificant(StatisticalTest):
    name = "always"

    def __init__(self, p=0.001):
        super().__init__()
        self.p = p

    def run(self, baseline, treatment, *, alpha=0.05):
        return {"p_value": self.p, "significant": self.p < alpha}
'''

VALID = """\
name: shift-study
seed: 3
replicates: 6
datasource:
  import: mysteps:noisy
  params: {n: 25}
steps:
  - mysteps:offset_by_one
  - import: mysteps:summarise
treatments:
  shifted: {shift: 0.8}
  scaled:
    scale: 2.0
hypotheses:
  - metric: mean
    direction: increase
    test: paired_t
  - name: spread_any
    metric: spread
    test: {name: permutation, n_resamples: 500, paired: true}
    alpha: 0.1
    family: spread
correction: bonferroni
"""


@pytest.fixture
def project(tmp_path: Path) -> Callable[[str], Path]:
    """Write ``mysteps.py`` and the given YAML text into ``tmp_path``; return the YAML path."""
    (tmp_path / "mysteps.py").write_text(STEPS)

    def write(yaml_text: str, name: str = "experiment.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(yaml_text))
        return path

    return write


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A copy of ``examples/yaml_quickstart`` in a fresh folder."""
    target = tmp_path / "yaml_quickstart"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__", ".crystallize"))
    return target


def config_error(path: Path) -> ConfigError:
    """The :class:`ConfigError` that loading ``path`` raises."""
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(path)
    return info.value


def crystallize(*args: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    """Run the installed command with piped output (so: no colour) and check its exit status."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    done = subprocess.run([str(COMMAND), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == code, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "\x1b[" not in done.stdout + done.stderr  # piped: plain text
    return done


def run_id_in(output: str) -> str:
    """The run id a command printed (``run id: ...``)."""
    match = re.search(r"^run id: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)
