"""Hostile experiment files: code they name is never called unless it is of the right kind,
Python tags are refused, and alias bombs are refused quickly (issue 12, points 1, 16 and 21)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crystallize import Experiment
from crystallize.cli.config import ConfigError

COMMAND = shutil.which("crystallize", path=str(Path(sys.executable).parent))

pytestmark = pytest.mark.skipif(COMMAND is None, reason="the crystallize command is not installed")

STEPS = '''
from pathlib import Path
from crystallize import DataSource, data_source, pipeline_step


@data_source
def source(ctx):
    return 1


@pipeline_step
def metrics(data, ctx):
    return {"x": float(ctx.get("replicate"))}


class Marking(DataSource):
    """A valid data source whose constructor leaves a mark: it must not run for an invalid file."""

    def __init__(self, mark):
        Path(mark).write_text("built")

    def fetch(self, ctx):
        return 1


def shell(*args, **kwargs):
    import subprocess
    return subprocess.run(*args, **kwargs)
'''


def _folder(tmp_path: Path, yaml_text: str) -> Path:
    (tmp_path / "chaos_steps.py").write_text(STEPS)
    path = tmp_path / "experiment.yaml"
    path.write_text(textwrap.dedent(yaml_text))
    return path


def _cli(path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    return subprocess.run([str(COMMAND), "--store", str(path.parent / "store"), "run", path.name, "--no-progress"],
                          cwd=path.parent, env=env, capture_output=True, text=True, timeout=timeout)


def _refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(path)
    return info.value


# -- 12.1: a file calls only what its key allows, and only once the whole file is valid ------------

SHELL_TEST = """\
    datasource: chaos_steps:source
    steps: [chaos_steps:metrics]
    hypotheses:
      - metric: x
        test: {{name: '{callable}', args: 'echo ran > {mark}', shell: true}}
    """


@pytest.mark.parametrize("callable_path", ["subprocess:Popen", "subprocess:run", "chaos_steps:shell", "os:system"])
def test_a_test_naming_a_callable_that_is_not_a_test_runs_nothing(tmp_path: Path, callable_path: str) -> None:
    mark = tmp_path / "ran"
    path = _folder(tmp_path, SHELL_TEST.format(callable=callable_path, mark=mark))
    error = _refused(path)
    assert (error.line, error.key) == (5, "hypotheses[0].test")
    assert "not a statistical test" in str(error) and "StatisticalTest" in str(error)
    done = _cli(path)
    assert done.returncode == 2, done.stderr
    assert "line 5: hypotheses[0].test:" in done.stderr and "not a statistical test" in done.stderr
    assert "Traceback" not in done.stderr
    assert not mark.exists()  # the shell command never ran, under from_yaml nor the command


@pytest.mark.parametrize(("key", "yaml_text"), [
    ("datasource", "datasource: {{import: 'subprocess:Popen', params: {{args: 'echo ran > {mark}', shell: true}}}}\n"
                   "steps: [chaos_steps:metrics]\n"),
    ("steps[0]", "datasource: chaos_steps:source\n"
                 "steps: [{{'subprocess:Popen': {{args: 'echo ran > {mark}', shell: true}}}}]\n"),
])
def test_components_naming_other_callables_run_nothing(tmp_path: Path, key: str, yaml_text: str) -> None:
    mark = tmp_path / "ran"
    path = _folder(tmp_path, yaml_text.format(mark=mark))
    error = _refused(path)
    assert error.key.startswith(key) and "subprocess:Popen is the class subprocess.Popen" in str(error)
    assert _cli(path).returncode == 2
    assert not mark.exists()


def test_nothing_is_built_until_every_import_path_is_checked(tmp_path: Path) -> None:
    """A valid data source is not constructed when a later key of the same file is refused."""
    mark = tmp_path / "built"
    path = _folder(tmp_path, f"""\
        datasource: {{import: 'chaos_steps:Marking', params: {{mark: '{mark}'}}}}
        steps: [chaos_steps:metrics]
        hypotheses: [{{metric: x, test: 'chaos_steps:shell'}}]
        """)
    error = _refused(path)
    assert (error.line, error.key) == (3, "hypotheses[0].test")
    assert _cli(path).returncode == 2
    assert not mark.exists()


def test_a_valid_file_still_builds_its_parts(tmp_path: Path) -> None:
    mark = tmp_path / "built"
    path = _folder(tmp_path, f"""\
        datasource: {{import: 'chaos_steps:Marking', params: {{mark: '{mark}'}}}}
        steps: [chaos_steps:metrics]
        hypotheses: [{{metric: x, test: {{name: 'crystallize.core.stat_test:WelchTTest'}}}}]
        """)
    experiment = Experiment.from_yaml(path)
    assert mark.read_text() == "built"
    assert type(experiment.hypotheses[0].statistical_test).__name__ == "WelchTTest"


# -- 12.21: Python tags are refused with their key and line ------------------------------------------

@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['echo ran']", "!!python/name:os.system ''",
                                 "!!python/object:collections.OrderedDict {}", "!custom 3"])
def test_python_and_other_tags_are_refused_with_key_and_line(tmp_path: Path, tag: str) -> None:
    path = _folder(tmp_path, f"""\
        datasource: chaos_steps:source
        steps:
          - import: chaos_steps:metrics
            params: {{unused: {tag}}}
        """)
    error = _refused(path)
    assert (error.line, error.key) == (4, "steps[0].params.unused")
    assert "is not allowed" in str(error) and "plain data" in str(error)
    done = _cli(path)
    assert done.returncode == 2, done.stderr
    assert "line 4: steps[0].params.unused: the tag" in done.stderr and "Traceback" not in done.stderr


# -- 12.16: alias bombs and self-containing aliases are refused at once -----------------------------

def _bomb(levels: int) -> str:
    lines = ['    a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "datasource: chaos_steps:source\nsteps: [chaos_steps:metrics]\ntreatments:\n  t:\n" + "\n".join(lines) + "\n"


@pytest.mark.timeout(120)
def test_an_alias_bomb_is_refused_quickly_with_its_line(tmp_path: Path) -> None:
    path = _folder(tmp_path, _bomb(9))  # 9**9 (387 million) values once expanded; 13 lines
    error = _refused(path)
    assert "values once aliases are expanded" in str(error) and error.line is not None
    done = _cli(path, timeout=100)
    assert done.returncode == 2, done.stderr
    assert "values once aliases are expanded" in done.stderr


def test_a_few_aliases_are_still_fine(tmp_path: Path) -> None:
    path = _folder(tmp_path, """\
        datasource: chaos_steps:source
        steps: [chaos_steps:metrics]
        treatments:
          small: {lr: &rates [1, 2, 3]}
          other: {lr: *rates, momentum: 0.9}
        """)
    experiment = Experiment.from_yaml(path)
    assert [dict(t.values) for t in experiment.treatments] == [{"lr": [1, 2, 3]}, {"lr": [1, 2, 3], "momentum": 0.9}]


@pytest.mark.timeout(120)
def test_an_alias_inside_itself_is_refused(tmp_path: Path) -> None:
    path = _folder(tmp_path, """\
        datasource: chaos_steps:source
        steps: [chaos_steps:metrics]
        treatments:
          t: &loop {values: [*loop]}
        """)
    error = _refused(path)
    assert error.line == 4 and "refers to a value that contains it" in str(error)
