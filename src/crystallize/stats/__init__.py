"""Pure statistics over arrays: tests, effect sizes, intervals, corrections, power.

Every two-sample function takes ``(baseline, treatment)`` and reports the
difference as treatment minus baseline; ``alternative="greater"`` means the
treatment is above the baseline. Nothing here imports the rest of crystallize.
"""

from __future__ import annotations

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
from crystallize.stats._result import ConfidenceInterval, TestResult
from crystallize.stats._ttests import paired_ttest, student_ttest, welch_ttest
from crystallize.stats._validation import ALTERNATIVES, Alternative
from crystallize.stats.warnings import DegenerateDataWarning, InsufficientDataWarning

__all__ = [
    "ALTERNATIVES",
    "Alternative",
    "ConfidenceInterval",
    "DegenerateDataWarning",
    "InsufficientDataWarning",
    "TestResult",
    "adjust_pvalues",
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
    "student_ttest",
    "tost",
    "tost_power",
    "ttest_power",
    "welch_ttest",
    "wilcoxon_signed_rank",
]
