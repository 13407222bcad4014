"""What the command says about runs in progress and names that match nothing (issue 12, point 21)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

COMMAND = shutil.which("crystallize", path=str(Path(sys.executable).parent))

pytestmark = pytest.mark.skipif(COMMAND is None, reason="the crystallize command is not installed")

SLOW = '''
import time
from pathlib import Path
from crystallize import Experiment, data_source, pipeline_step

RELEASE = Path(__file__).with_name("release")


@data_source
def source(ctx):
    return 1


@pipeline_step
def wait_for_release(data, ctx):
    """Replicate 0 finishes at once; the others wait until the test lets them go."""
    deadline = time.monotonic() + 600
    while ctx.get("replicate") > 0 and not RELEASE.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"x": float(ctx.get("replicate"))}


def make():
    return Experiment(datasource=source(), pipeline=[wait_for_release()], replicates=3, seed=1, name="alpha")
'''


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["COLUMNS"] = "200"
    return env


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COMMAND), "--store", str(folder / "store"), *args], cwd=folder, env=_env(),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "slow.py").write_text(SLOW)
    return tmp_path


def _wait_for_running_id(folder: Path, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if (folder / "store").is_dir():
            listed = _cli(folder, "list")
            match = re.search(r"^\S*\s*([0-9a-f]{12})\s.*\brunning\b", listed.stdout, re.MULTILINE)
            if match:
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError("the run never showed as running")


@pytest.mark.timeout(300)
def test_show_on_a_run_in_progress_says_it_is_running(folder: Path) -> None:
    process = subprocess.Popen([str(COMMAND), "--store", str(folder / "store"), "run", "slow:make", "--no-progress"],
                               cwd=folder, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_id = _wait_for_running_id(folder, process)
        shown = _cli(folder, "show", run_id)
        assert shown.returncode == 0, shown.stderr
        assert "RUNNING:" in shown.stdout and "of 3 runs recorded so far" in shown.stdout
        assert "INTERRUPTED" not in shown.stdout
    finally:
        (folder / "release").touch()
        out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    finished = _cli(folder, "show", run_id)
    assert "RUNNING" not in finished.stdout and "INTERRUPTED" not in finished.stdout and "3 runs, 0 failed" in finished.stdout


def test_list_with_a_name_that_matches_nothing_says_so(folder: Path) -> None:
    (folder / "release").touch()
    assert _cli(folder, "run", "slow:make", "--no-progress").returncode == 0
    listed = _cli(folder, "list", "--name", "alpah")
    assert listed.returncode == 2
    assert listed.stderr.startswith("error: no experiment run is named 'alpah' (did you mean 'alpha'?)")
    assert "names in this store: alpha" in listed.stderr and "no experiment runs in this store yet" not in listed.stderr
    assert "alpha" in _cli(folder, "list", "--name", "alpha").stdout

