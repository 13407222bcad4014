"""Experiment folders written on the fly: a steps module beside a YAML file."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

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
