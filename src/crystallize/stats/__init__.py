"""Pure statistics over arrays: tests, effect sizes, intervals, corrections, power.

Every two-sample function takes ``(baseline, treatment)`` and reports the
difference as treatment minus baseline; ``alternative="greater"`` means the
treatment is above the baseline. Nothing here imports the rest of crystallize.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crystallize.stats._betting import betting_eprocess, betting_test
    from crystallize.stats._bootstrap import bootstrap_ci
    from crystallize.stats._effect_size import (
        cohens_dz,
        hedges_g,
        mean_difference,
        rank_biserial,
        relative_difference,
    )
    from crystallize.stats._equivalence import noninferiority, tost
    from crystallize.stats._multitest import adjust_pvalues
    from crystallize.stats._permutation import permutation_test
    from crystallize.stats._ratio import relative_noninferiority, relative_tost
    from crystallize.stats._power import (
        noninferiority_power,
        required_replicates,
        required_replicates_noninferiority,
        required_replicates_tost,
        tost_power,
        ttest_power,
    )
    from crystallize.stats._rank import mann_whitney_u, wilcoxon_signed_rank
    from crystallize.stats._sequential import (
        SequentialPlan,
        anytime_pvalues,
        sequential_plan,
        sequential_ttest,
        t_confidence_sequence,
        t_eprocess,
    )
    from crystallize.stats._result import ConfidenceInterval, TestResult
    from crystallize.stats._ttests import paired_ttest, student_ttest, welch_ttest
    from crystallize.stats._validation import ALTERNATIVES, Alternative
    from crystallize.stats.warnings import DegenerateDataWarning, InsufficientDataWarning

#: Where each public name lives; submodules load on first use, so importing
#: ``crystallize`` (or ``crystallize.stats.warnings``) does not import SciPy.
_HOMES: dict[str, str] = {
    "ALTERNATIVES": "_validation",
    "Alternative": "_validation",
    "ConfidenceInterval": "_result",
    "DegenerateDataWarning": "warnings",
    "InsufficientDataWarning": "warnings",
    "TestResult": "_result",
    "SequentialPlan": "_sequential",
    "adjust_pvalues": "_multitest",
    "anytime_pvalues": "_sequential",
    "betting_eprocess": "_betting",
    "betting_test": "_betting",
    "bootstrap_ci": "_bootstrap",
    "cohens_dz": "_effect_size",
    "hedges_g": "_effect_size",
    "mann_whitney_u": "_rank",
    "mean_difference": "_effect_size",
    "noninferiority": "_equivalence",
    "noninferiority_power": "_power",
    "paired_ttest": "_ttests",
    "permutation_test": "_permutation",
    "rank_biserial": "_effect_size",
    "sequential_plan": "_sequential",
    "sequential_ttest": "_sequential",
    "t_confidence_sequence": "_sequential",
    "t_eprocess": "_sequential",
    "relative_difference": "_effect_size",
    "relative_noninferiority": "_ratio",
    "relative_tost": "_ratio",
    "required_replicates": "_power",
    "required_replicates_noninferiority": "_power",
    "required_replicates_tost": "_power",
    "student_ttest": "_ttests",
    "tost": "_equivalence",
    "tost_power": "_power",
    "ttest_power": "_power",
    "welch_ttest": "_ttests",
    "wilcoxon_signed_rank": "_rank",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'crystallize.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"crystallize.stats.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ALTERNATIVES",
    "Alternative",
    "ConfidenceInterval",
    "DegenerateDataWarning",
    "InsufficientDataWarning",
    "SequentialPlan",
    "TestResult",
    "adjust_pvalues",
    "anytime_pvalues",
    "betting_eprocess",
    "betting_test",
    "bootstrap_ci",
    "cohens_dz",
    "hedges_g",
    "mann_whitney_u",
    "mean_difference",
    "noninferiority",
    "noninferiority_power",
    "paired_ttest",
    "permutation_test",
    "rank_biserial",
    "relative_difference",
    "relative_noninferiority",
    "relative_tost",
    "required_replicates",
    "required_replicates_noninferiority",
    "required_replicates_tost",
    "sequential_plan",
    "sequential_ttest",
    "student_ttest",
    "t_confidence_sequence",
    "t_eprocess",
    "tost",
    "tost_power",
    "ttest_power",
    "welch_ttest",
    "wilcoxon_signed_rank",
]
