"""The command in-process: help, targets, exit statuses, error lines and the cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from crystallize import Experiment
from crystallize.cli.console import CliError
from crystallize.cli.main import main
from crystallize.cli.target import load_target, replicates_override, with_overrides
from crystallize.core.sequential import Sequential

from .conftest import VALID

Write = Callable[..., Path]

COMMANDS = [[], ["run"], ["list"], ["show"], ["report"], ["export"], ["compare"], ["plan"], ["cache"],
            ["cache", "info"], ["cache", "clear"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "crystallize")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: crystallize") and "Options:" in out


def test_a_bad_yaml_file_exits_2_with_one_line_naming_the_line(project: Write, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = project(VALID.replace("direction: increase", "direction: upward"))
    monkeypatch.chdir(path.parent)
    assert main(["run", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and "experiment.yaml, line 16: hypotheses[0].direction" in lines[0]
    assert "Traceback" not in captured.err


def test_debug_adds_the_traceback(project: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = project(VALID.replace("mysteps:noisy", "mysteps:missing"))
    assert main(["--debug", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ConfigError" in err
    assert "error: " in err and "has no attribute 'missing'" in err


@pytest.mark.parametrize(("target", "message"), [
    ("missing.yaml", "experiment file 'missing.yaml' not found"),
    ("nosuchmodule:experiment", "module 'nosuchmodule' not found"),
    ("mysteps:not_a_step", "is a int, not an Experiment"),
    ("mysteps:nothing_here", "has no attribute 'nothing_here'"),
    ("justaname", "give an experiment file (.yaml) or 'module:attr'"),
])
def test_unusable_targets_exit_2(target: str, message: str, project: Write, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(VALID).parent)
    assert main(["run", target]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    assert "Missing argument 'TARGET'" in capsys.readouterr().err
    assert main(["run", "x.yaml", "--backend", "gpu"]) == 2
    assert "'gpu' is not one of" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2


def test_store_commands_without_a_store_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["list"], ["show", "abc"], ["report", "abc"], ["export", "abc"], ["compare", "a", "b"]):
        assert main(["--store", str(tmp_path / "none"), *command]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: no run store at") and err.count("\n") == 1


def test_targets_by_module_attribute_file_and_factory(project: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(VALID).parent
    (folder / "defs.py").write_text(
        "from crystallize import Experiment\n"
        "import mysteps\n"
        "experiment = Experiment(datasource=mysteps.noisy(), pipeline=[mysteps.summarise()], seed=5, name='py')\n"
        "def make():\n    return experiment\n")
    monkeypatch.chdir(folder)
    assert load_target("defs:experiment").name == "py"
    assert load_target("defs:make").seed == 5
    assert load_target(str(folder / "defs.py") + ":make").name == "py"
    assert load_target("experiment.yaml").name == "shift-study"
    with pytest.raises(CliError, match="not a YAML file"):
        load_target("defs.py")


def test_overrides_build_a_modified_copy(project: Write) -> None:
    experiment = load_target(str(project(VALID)))
    assert with_overrides(experiment) is experiment
    changed = with_overrides(experiment, replicates=2, seed=9)
    assert (changed.replicates, changed.seed, changed.name) == (2, 9, "shift-study")
    assert changed.conditions == experiment.conditions and changed.correction == experiment.correction
    assert [h.name for h in changed.hypotheses] == [h.name for h in experiment.hypotheses]
    assert with_overrides(experiment, replicates=4).seed == experiment.seed
    assert isinstance(changed, Experiment) and changed.fingerprint() != experiment.fingerprint()


def test_overrides_keep_a_sequential_design_and_a_seed_left_to_chance(project: Write) -> None:
    sequential = Experiment.from_yaml(project(VALID.replace("replicates: 6", "replicates: {sequential: {max: 30}}")
                                              .replace("test: paired_t", "test: sequential_t")
                                              .replace("test: {name: permutation, n_resamples: 500, paired: true}",
                                                       "test: betting")))
    assert with_overrides(sequential, seed=9).sequential == Sequential(max=30)  # --seed alone keeps the design
    unseeded = Experiment.from_yaml(project(VALID.replace("seed: 3\n", ""), name="unseeded.yaml"))
    assert not with_overrides(unseeded, replicates=3).seed_given  # so --resume still adopts the earlier seed


def test_design_options_become_a_design(project: Write) -> None:
    anytime = Experiment.from_yaml(project(VALID.replace("test: paired_t", "test: sequential_t")
                                           .replace("test: {name: permutation, n_resamples: 500, paired: true}",
                                                    "test: {name: betting, mode: win_rate}")))
    assert replicates_override(anytime) is None
    assert replicates_override(anytime, replicates=4) == 4
    assert replicates_override(anytime, sequential=True, max_replicates=50, batch=2) == Sequential(50, 2, 5)
    sequential = with_overrides(anytime, replicates=Sequential(max=40, batch=4, min=8))
    assert replicates_override(sequential, max_replicates=80) == Sequential(80, 4, 8)  # the rest is kept
    assert replicates_override(sequential, replicates=5) == 5  # a fixed design: anytime-valid tests allow it
    with pytest.raises(CliError, match=r"'mean' uses paired_t; 'spread_any' uses permutation"):
        replicates_override(Experiment.from_yaml(project(VALID, name="fixed.yaml")), sequential=True,
                            max_replicates=50)


def test_cache_info_and_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    (store / "cache" / "ab").mkdir(parents=True)
    (store / "cache" / "ab" / "k1.entry").write_bytes(b"x" * 1000)
    (store / "cache" / "ab" / "k2.entry").write_bytes(b"y" * 20)
    (store / "cache" / "cd").mkdir()
    (store / "cache" / "cd" / "base.json").write_bytes(b"[]\n\n")
    (store / "artifacts").mkdir()
    (store / "artifacts" / "keep.txt").write_text("kept")
    assert main(["--store", str(store), "cache", "info"]) == 0
    assert "2 entries, 1.0 KiB (1024 bytes)" in capsys.readouterr().out
    assert main(["--store", str(store), "cache", "clear"]) == 0
    assert "removed 2 cache entries" in capsys.readouterr().out
    assert main(["--store", str(store), "cache", "info"]) == 0
    assert "0 entries" in capsys.readouterr().out
    assert (store / "cache").is_dir() and (store / "artifacts" / "keep.txt").exists()


def test_run_a_module_attribute_with_overrides_then_show_it(project: Write, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(VALID).parent
    (folder / "defs.py").write_text(
        "from crystallize import Experiment\nimport mysteps\n"
        "def make():\n"
        "    return Experiment(datasource=mysteps.noisy(), pipeline=[mysteps.summarise()], seed=5, name='py')\n")
    monkeypatch.chdir(folder)
    assert main(["--store", "st", "run", "defs:make", "--replicates", "3", "--seed", "9", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Experiment py" in out and "replicates 3" in out and "seed 9" in out
    run_id = out.strip().splitlines()[-1].removeprefix("run id: ")
    assert main(["--store", "st", "show", run_id[:5]]) == 0
    shown = capsys.readouterr().out
    assert shown.strip().splitlines()[-1] == f"run id: {run_id}" and "seed 9" in shown
    assert main(["--store", "st", "list"]) == 0
    listed = capsys.readouterr().out
    assert run_id in listed and "3/3" in listed and "no verdicts" in listed


def test_an_experiment_whose_every_run_fails_exits_1(project: Write, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(VALID).parent
    (folder / "broken.py").write_text(
        "from crystallize import Experiment, data_source, pipeline_step\n"
        "@data_source\ndef source(ctx):\n    return 1\n"
        "@pipeline_step\ndef explode(data):\n    raise RuntimeError('boom')\n"
        "experiment = Experiment(datasource=source(), pipeline=[explode()], replicates=2, seed=1, name='b')\n")
    monkeypatch.chdir(folder)
    assert main(["--store", "st", "run", "broken:experiment", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "2 runs, 2 failed" in captured.out and "RuntimeError: boom" in captured.out
    assert captured.err == "error: every run failed; see the failures above\n"


def test_show_lists_every_failure_and_its_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flaky.py").write_text(
        "from crystallize import DataSource, Experiment, PipelineStep, Treatment\n"
        "class S(DataSource):\n    def fetch(self, ctx):\n        return 1.0\n"
        "class B(PipelineStep):\n    def __call__(self, d, ctx):\n"
        "        if ctx['condition'] == 't' and ctx['replicate'] % 2:\n"
        "            raise ValueError('odd replicate')\n"
        "        return {'x': d}\n"
        "experiment = Experiment(S(), [B()], [Treatment('t', {'a': 1})], replicates=4, seed=1, name='flaky')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", "flaky:experiment", "--no-progress"]) == 0
    run_id = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    assert main(["show", run_id[:5], "--errors"]) == 0
    out = capsys.readouterr().out
    assert "t/1 in step 'B': ValueError: odd replicate" in out and "t/3 in step 'B'" in out
    assert main(["show", run_id[:5], "--tracebacks"]) == 0
    assert "Traceback (most recent call last)" in capsys.readouterr().out


def test_plan_says_why_a_run_without_pairs_cannot_be_planned(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "allfail.py").write_text(
        "from crystallize import Experiment, Hypothesis, Treatment, data_source, pipeline_step\n"
        "@data_source\ndef source(ctx):\n    return 1\n"
        "@pipeline_step\ndef explode(data):\n    raise RuntimeError('boom')\n"
        "experiment = Experiment(datasource=source(), pipeline=[explode()], treatments=[Treatment('t', {})],\n"
        "                        hypotheses=[Hypothesis('acc')], replicates=2, seed=1, name='allfail')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", "allfail:experiment", "--no-progress"]) == 1
    run_id = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    assert main(["plan", run_id, "--effect", "0.1", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["plans"]
    assert (row["pairs"], row["sd"], row["max_replicates"]) == (0, None, None)
    assert "only 0 complete pair(s)" in row["note"]
