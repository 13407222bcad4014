"""The public door of crystallize.stats, its purity, and its doctests."""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import crystallize.stats as cs

EXPECTED = {
    "ALTERNATIVES", "Alternative", "ConfidenceInterval", "DegenerateDataWarning",
    "InsufficientDataWarning", "SequentialPlan", "TestResult", "adjust_pvalues", "anytime_pvalues",
    "betting_eprocess", "betting_test", "bootstrap_ci", "cohens_dz", "hedges_g", "mann_whitney_u", "mean_difference",
    "noninferiority", "noninferiority_power", "paired_ttest", "permutation_test", "rank_biserial", "relative_difference",
    "relative_noninferiority", "relative_tost", "required_replicates",
    "required_replicates_noninferiority", "required_replicates_tost", "sequential_plan", "sequential_ttest", "student_ttest",
    "t_confidence_sequence", "t_eprocess", "tost", "tost_power", "ttest_power", "welch_ttest", "wilcoxon_signed_rank",
}

MODULES = sorted(m.name for m in pkgutil.iter_modules(cs.__path__, "crystallize.stats."))


def test_exported_names_are_pinned():
    assert set(cs.__all__) == EXPECTED
    assert all(hasattr(cs, name) for name in cs.__all__)


def test_stats_imports_nothing_of_the_project():
    # static check, as the import-linter contract does: the top-level package may import core
    for path in Path(cs.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: use absolute imports"
                names = [node.module or ""]
            for name in names:
                inside = name == "crystallize.stats" or name.startswith("crystallize.stats.")
                assert inside or not name.startswith("crystallize"), f"{path.name} imports {name}"


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_modules_stay_small(name):
    module = importlib.import_module(name)
    assert module.__file__ is not None
    with open(module.__file__, encoding="utf-8") as fh:
        assert sum(1 for _ in fh) < 400


def test_t_tests_do_not_load_scipy_stats():
    import subprocess
    import sys

    code = ("import sys; from crystallize.stats import welch_ttest, paired_ttest; "
            "welch_ttest([1.0, 2.0, 3.0], [2.0, 3.5, 4.0]); paired_ttest([1.0, 2.0, 3.0], [2.0, 3.5, 4.5]); "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # scipy.stats costs 0.4 s more to import than scipy.special
