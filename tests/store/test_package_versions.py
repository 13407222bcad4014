"""Every distribution the experiment's process has imported is recorded with its version; an upgrade
shows in `crystallize compare` and a resumed run warns, naming the packages.

A tiny distribution is installed into a temporary folder on ``sys.path`` (a ``.dist-info`` folder
as pip writes it) and "upgraded" by replacing that folder, so the tests see real metadata."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crystallize import (
    Experiment,
    Hypothesis,
    PairedTTest,
    Result,
    Treatment,
    data_source,
    pipeline_step,
)
from crystallize.core.provenance import (
    VersionChange,
    environment,
    imported_distributions,
    version_changes,
)
from crystallize.report.html import render_report
from crystallize.store import PackageVersionsChangedWarning

COMMAND = Path(sys.executable).with_name("crystallize")


def install_tiny(site: Path, version: str, *, record_only: bool = False) -> None:
    """Write (or replace) distribution ``tiny-dist`` with module ``tinydist_mod`` into ``site``."""
    for old in site.glob("tiny_dist-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    (site / "tinydist_mod").mkdir(exist_ok=True)
    (site / "tinydist_mod" / "__init__.py").write_text(f"VERSION = {version!r}\n")
    info = site / f"tiny_dist-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tiny-dist\nVersion: {version}\n")
    if not record_only:
        (info / "top_level.txt").write_text("tinydist_mod\n")
    (info / "RECORD").write_text(f"tinydist_mod/__init__.py,,\ntiny_dist-{version}.dist-info/METADATA,,\n")
    stamp = time.time_ns() + 1_000_000 * len(version)  # a folder changed within one clock tick still looks new
    os.utime(site, ns=(stamp, stamp))


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``tiny-dist`` 1.0.0 installed on ``sys.path`` and imported; call the fixture's value to upgrade it."""
    site = tmp_path / "site"
    site.mkdir()
    install_tiny(site, "1.0.0")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "tinydist_mod", raising=False)
    importlib.import_module("tinydist_mod")

    def upgrade(version: str) -> None:
        install_tiny(site, version)

    yield upgrade
    sys.modules.pop("tinydist_mod", None)


def test_an_imported_distribution_is_recorded_with_its_version_and_an_upgrade_is_seen(tiny):
    assert imported_distributions()["tiny-dist"] == "1.0.0"
    tiny("1.1.0")  # the metadata is read again once its folder changed
    assert imported_distributions()["tiny-dist"] == "1.1.0"
    assert environment()["packages"]["tiny-dist"] == "1.1.0"


def test_a_distribution_without_top_level_txt_is_found_from_its_record(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install_tiny(site, "2.0.0", record_only=True)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "tinydist_mod", raising=False)
    importlib.import_module("tinydist_mod")
    try:
        assert imported_distributions()["tiny-dist"] == "2.0.0"
    finally:
        sys.modules.pop("tinydist_mod", None)


def test_the_record_is_what_packages_distributions_says_for_every_imported_module():
    import sklearn  # noqa: F401 - the library that did the work must be recorded, not a fixed list

    mapping = importlib.metadata.packages_distributions()
    expected = {dist for name in list(sys.modules) if "." not in name for dist in mapping.get(name, ())}
    recorded = imported_distributions()
    assert set(recorded) == expected | {"crystallize"}
    assert recorded["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert all(recorded[name] == importlib.metadata.version(name) for name in recorded)


def test_version_changes_lists_changed_added_and_removed_packages():
    before = {"python": "3.11.4", "packages": {"numpy": "2.0.0", "scikit-learn": "1.5.2", "dask": "2024.8.0"}}
    after = {"python": "3.11.4", "packages": {"numpy": "2.0.0", "scikit-learn": "1.6.1", "pyarrow": "26.0.1"}}
    changes = version_changes(before, after)
    assert changes == [VersionChange("dask", "2024.8.0", None), VersionChange("pyarrow", None, "26.0.1"),
                       VersionChange("scikit-learn", "1.5.2", "1.6.1")]
    assert [str(c) for c in changes] == ["dask removed (was 2024.8.0)", "pyarrow added (26.0.1)",
                                         "scikit-learn 1.5.2 -> 1.6.1"]
    assert version_changes(before, after, common_only=True) == [VersionChange("scikit-learn", "1.5.2", "1.6.1")]
    assert version_changes(before, {**after, "python": "3.12.1"}, common_only=True)[0] == \
        VersionChange("Python", "3.11.4", "3.12.1")


@data_source
def draws(ctx):
    return ctx.rng.normal(0.0, 1.0, 20)


@pipeline_step
def measure(data, *, shift=0.0):
    return {"value": float(data.mean() * (1 + shift) + shift)}


def experiment() -> Experiment:
    return Experiment(datasource=draws(), pipeline=[measure()], treatments=[Treatment("up", {"shift": 0.5})],
                      hypotheses=[Hypothesis("value", PairedTTest(), direction="increase")], replicates=3, seed=5,
                      name="versions")


def test_resuming_after_an_upgrade_warns_naming_the_package(tiny, tmp_path):
    store = str(tmp_path / "store")
    first = experiment().run(store=store)
    assert first.provenance["environment"]["packages"]["tiny-dist"] == "1.0.0"
    tiny("1.2.0")
    with pytest.warns(PackageVersionsChangedWarning, match=r"tiny-dist 1\.0\.0 -> 1\.2\.0") as caught:
        again = experiment().run(store=store, resume=True)
    assert again.run_id == first.run_id and first.run_id in str(caught[0].message)
    assert again.provenance["environment"]["packages"]["tiny-dist"] == "1.2.0"


def test_resuming_with_the_same_versions_does_not_warn(tiny, tmp_path, recwarn):
    store = str(tmp_path / "store")
    experiment().run(store=store)
    experiment().run(store=store, resume=True)
    assert not [w for w in recwarn if issubclass(w.category, PackageVersionsChangedWarning)]


@pytest.mark.skipif(not COMMAND.exists(), reason="the crystallize command is not installed")
def test_compare_lists_the_upgraded_package(tiny, tmp_path):
    store = tmp_path / "store"
    a = experiment().run(store=str(store))
    tiny("1.2.0")
    b = experiment().run(store=str(store))
    done = subprocess.run([str(COMMAND), "--store", str(store), "compare", a.run_id, b.run_id],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "Package versions, A -> B: tiny-dist 1.0.0 -> 1.2.0" in done.stdout
    assert "environment identical" not in done.stdout.replace("\n", " ")


def test_a_resumed_run_keeps_the_environment_its_earlier_runs_were_made_in(tiny, tmp_path):
    store = str(tmp_path / "store")
    first = experiment().run(store=store)
    tiny("1.2.0")
    with pytest.warns(PackageVersionsChangedWarning):
        experiment().run(store=store, resume=True)
    tiny("1.3.0")
    with pytest.warns(PackageVersionsChangedWarning):
        resumed = experiment().run(store=store, resume=True)
    assert [e["packages"]["tiny-dist"] for e in resumed.provenance["earlier_environments"]] == ["1.0.0", "1.2.0"]
    loaded = Result.load(first.run_id, tmp_path / "store")
    assert loaded.provenance["environment"]["packages"]["tiny-dist"] == "1.3.0"
    assert [e["packages"]["tiny-dist"] for e in loaded.provenance["earlier_environments"]] == ["1.0.0", "1.2.0"]
    provenance = render_report(loaded).split('<section id="provenance">')[1]
    assert "<h3>Earlier environments</h3>" in provenance
    assert "tiny-dist 1.0.0 -&gt; 1.3.0" in provenance and "tiny-dist 1.2.0 -&gt; 1.3.0" in provenance


def test_an_unchanged_resume_keeps_no_earlier_environment(tiny, tmp_path, recwarn):
    store = str(tmp_path / "store")
    first = experiment().run(store=store)
    experiment().run(store=store, resume=True)
    assert "earlier_environments" not in Result.load(first.run_id, tmp_path / "store").provenance
