"""``make demo`` (examples/quickstart/experiment.py): the follow-up commands it prints work when
pasted into the shell that ran it, whose environment is not activated (issue 15, point 7)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "experiment.py"
BIN = Path(sys.executable).parent  # not resolved: a venv's python is a link

pytestmark = pytest.mark.skipif(not (BIN / "crystallize").exists(), reason="the crystallize command is not installed")


def demo_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quickstart_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def without_the_environment() -> dict[str, str]:
    """The environment of a shell where the virtualenv is not activated."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).absolute() != BIN.absolute()]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NO_COLOR", "COLUMNS")}
    return env | {"PATH": os.pathsep.join(path)}


def test_the_command_is_named_by_its_path_unless_the_environment_is_active(monkeypatch, tmp_path) -> None:
    demo = demo_module()
    monkeypatch.setenv("PATH", without_the_environment()["PATH"])
    monkeypatch.chdir(BIN.parent.parent)  # where `make demo` runs: beside .venv
    assert demo.command_name() == f"{BIN.parent.name}/bin/crystallize"
    monkeypatch.chdir(tmp_path)  # elsewhere: the full path
    assert demo.command_name() == str(BIN / "crystallize")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    assert demo.command_name() == "crystallize"


@pytest.mark.slow
def test_the_printed_follow_up_commands_work_as_pasted(tmp_path) -> None:
    env = without_the_environment()
    assert shutil.which("crystallize", path=env["PATH"]) is None or \
        Path(shutil.which("crystallize", path=env["PATH"])).absolute() != (BIN / "crystallize").absolute()
    done = subprocess.run([sys.executable, str(DEMO)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900, check=True)
    match = re.search(r"^again later: (.+) · (.+)$", done.stdout, re.MULTILINE)
    assert match, done.stdout
    show, report = match.groups()
    assert show.startswith(f"{BIN / 'crystallize'} show ") and "source " in done.stdout
    for pasted in (show, report):
        subprocess.run(pasted, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                       check=True)
    assert (tmp_path / "report.html").stat().st_size > 0
