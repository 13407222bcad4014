"""Planning replicates: the power of each verdict's test for an effect you name.

:meth:`Result.power_analysis` asks, for every (hypothesis, treatment), how many
replicates the test needs to detect *the effect you care about* with the power
you want, and what power the replicates used had for it. The effect is an input:
the observed effect would give "post-hoc power", which is a function of the
p-value alone, biased upwards for significant results, and says nothing new.

* Two-sided tests of a directional hypothesis count only the rejections that go
  the hypothesised way (one tail at alpha / 2); one-sided tests use their tail.
* Equivalence (``"equal"``) uses the exact power of two one-sided t-tests,
  non-inferiority (``"no_worse"``) the one-sided t-test shifted by the margin.
  Their margins are standardised by the observed sd.
* Alpha is the family's most stringent step: ``alpha / k`` for the ``k``
  comparisons of the hypothesis's family under Holm, Bonferroni or BH (the
  first step of Holm and BH is exactly Bonferroni's), so a plan for one
  comparison holds for all; ``alpha`` without a correction.
* Rank tests are planned as t-tests times pi/3 (their asymptotic relative
  efficiency under normal data) and at least the replicates their smallest
  attainable p-value needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crystallize.core.display import mean_sd

if TYPE_CHECKING:
    from crystallize.core.result import Result
    from crystallize.core.verdict import Verdict
    from crystallize.stats import Alternative

__all__ = ["Effect", "plan_replicates"]

#: An effect for every hypothesis, or one per hypothesis name.
Effect = float | Mapping[str, float]

_RANK = ("mann_whitney_u", "wilcoxon_signed_rank")
_EXACT = (*_RANK, "permutation")


def _effect_iv(effect_size: Effect | None, difference: Effect | None) -> tuple[str, Effect]:
    if (effect_size is None) == (difference is None):
        given = "both effect_size= and difference=" if effect_size is not None else "no effect"
        raise ValueError(
            f"power_analysis() needs the effect you want to detect, got {given}: pass effect_size= (standardised: "
            "Cohen's d, or d_z for paired tests) or difference= (in the metric's units, standardised by the observed "
            "sd), one number or {hypothesis: value}. The observed effect is not used: its 'post-hoc power' is a "
            "function of the p-value, biased upwards for significant results")
    kind, value = ("effect_size", effect_size) if effect_size is not None else ("difference", difference)
    values = value.values() if isinstance(value, Mapping) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"power_analysis({kind}=...) needs finite numbers, got {v!r}")
    assert value is not None
    return kind, value


def _alpha(v: Verdict, corrections: Mapping[str, str | None]) -> float:
    correction = corrections.get(v.family)
    return v.alpha / v.comparisons if correction in ("holm", "bonferroni", "fdr_bh") else v.alpha


def _sd(result: Result, v: Verdict) -> float | None:
    """The observed sd the effect is standardised by: of the paired differences for a
    paired test, pooled over both conditions otherwise."""
    if v.n_pairs is not None:
        pairs = result.paired_samples(v.metric, v.treatment)
        diffs = [t - b for b, t in zip(pairs.baseline, pairs.treatment)]
        return mean_sd(diffs)[1] if len(diffs) > 1 else None
    sides = []
    for condition in ("baseline", v.treatment):
        values = [float(x) for x in result.metrics.get(condition, {}).get(v.metric, []) if math.isfinite(float(x))]
        if len(values) < 2:
            return None
        sides.append((len(values), mean_sd(values)[1] or 0.0))
    (n1, s1), (n2, s2) = sides
    return math.sqrt(((n1 - 1) * s1 * s1 + (n2 - 1) * s2 * s2) / (n1 + n2 - 2))


def _smallest_exact_n(alpha: float, one_tail: bool, paired: bool) -> int:
    """Fewest replicates with which a rank or permutation test (one arrangement of all the
    equally likely ones, twice for a two-sided p-value) can get below ``alpha``."""
    n = 2
    while True:
        arrangements = 2**n if paired else math.comb(2 * n, n)
        if (1 if one_tail else 2) / arrangements < alpha:
            return n
        n += 1


def _plan(v: Verdict, d: float, m: float | None, alpha: float, power: float) -> tuple[float | None, int | None, str]:
    """Power with the replicates used, replicates required, and how."""
    from crystallize import stats  # noqa: PLC0415 - SciPy only when planning

    paired = v.n_pairs is not None
    used = v.n_pairs if v.n_pairs is not None else min(v.n_baseline, v.n_treatment)
    if v.direction in ("equal", "no_worse"):
        assert m is not None
        if v.direction == "equal":
            now = stats.tost_power(d, used, low=-m, high=m, alpha=alpha, paired=paired) if used >= 2 else None
            need = stats.required_replicates_tost(d, low=-m, high=m, alpha=alpha, power=power, paired=paired)
            return now, need, "two one-sided t-tests (exact)"
        now = stats.noninferiority_power(d, used, margin=m, alpha=alpha, paired=paired) if used >= 2 else None
        need = stats.required_replicates_noninferiority(d, margin=m, alpha=alpha, power=power, paired=paired)
        return now, need, "one-sided t-test shifted by the margin"
    one_tail = v.direction in ("increase", "decrease") or v.alternative != "two-sided"
    tail_alpha = alpha / 2 if one_tail and v.alternative == "two-sided" else alpha
    alternative: Alternative = "greater" if one_tail else "two-sided"
    effect = d if one_tail else abs(d)
    now = stats.ttest_power(effect, used, alpha=tail_alpha, paired=paired, alternative=alternative) \
        if used >= 2 else None
    need = stats.required_replicates(effect, alpha=tail_alpha, power=power, paired=paired, alternative=alternative)
    method = "t-test (noncentral t)" + (", one tail at alpha / 2: only the hypothesised direction is accepted"
                                        if tail_alpha < alpha else "")
    if v.test in _RANK:
        need = math.ceil(need * math.pi / 3)
        method = f"t-test approximation of {v.test} (times pi/3, its efficiency under normal data)"
    if v.test in _EXACT:
        floor = _smallest_exact_n(alpha, v.alternative != "two-sided", paired)
        if floor > need:
            need, method = floor, f"{method}; the fewest replicates whose smallest p-value is below alpha"
    return now, need, method


def plan_replicates(
    result: Result, *, effect_size: Effect | None = None, difference: Effect | None = None, power: float = 0.8,
) -> list[dict[str, Any]]:
    """One plan per verdict; see :meth:`Result.power_analysis`."""
    kind, value = _effect_iv(effect_size, difference)
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not 0 < power < 1:
        raise ValueError(f"power_analysis(power=...) must lie strictly between 0 and 1, got {power!r}")
    corrections = _corrections(result)
    rows = []
    for v in result.verdicts:
        given = value.get(v.hypothesis) if isinstance(value, Mapping) else value
        sd = _sd(result, v)
        alpha = _alpha(v, corrections)
        row: dict[str, Any] = {
            "hypothesis": v.hypothesis, "treatment": v.treatment, "direction": v.direction, "test": v.test,
            "effect_size": None, "effect_size_name": "d_z" if v.n_pairs is not None else "d", "difference": None,
            "sd": sd, "alpha": alpha, "power": power,
            "replicates_used": v.n_pairs if v.n_pairs is not None else min(v.n_baseline, v.n_treatment),
            "power_at_replicates_used": None, "replicates_required": None, "method": None, "note": None,
        }
        rows.append(row)
        if given is None:
            row["note"] = f"no {kind} given for hypothesis {v.hypothesis!r}"
            continue
        if kind == "difference":
            row["difference"] = float(given)
            if not sd:
                row["note"] = "the observed sd is 0 or unknown: a difference cannot be standardised; pass effect_size="
                continue
            d = float(given) / sd
        else:
            d = float(given)
            row["difference"] = d * sd if sd else None
        row["effect_size"] = d
        margin = None
        if v.direction in ("equal", "no_worse"):
            if v.margin_relative:
                row["note"] = ("a relative margin is not planned here; plan with the absolute margin (margin times "
                               "the baseline mean) through crystallize.stats.tost_power / noninferiority_power")
                continue
            if not sd or v.margin is None:
                row["note"] = "the observed sd is 0 or unknown: the margin cannot be standardised"
                continue
            margin = v.margin / sd
        if v.decided_by_test:
            row["note"] = f"{v.test} decides significance itself: its power is not known here"
            continue
        try:
            row["power_at_replicates_used"], row["replicates_required"], row["method"] = _plan(v, d, margin, alpha,
                                                                                               power)
        except ValueError as exc:  # an effect the test cannot detect, or an impossible target
            row["note"] = str(exc).replace("`effect_size`", kind)
    return rows


def _corrections(result: Result) -> dict[str, str | None]:
    """The correction each family was adjusted with (the experiment's, for a family that
    had a single comparison)."""
    definition = result.provenance.get("definition") or {}
    default = definition.get("correction", "holm") if isinstance(definition, Mapping) else "holm"
    out: dict[str, str | None] = {}
    for v in result.verdicts:
        if v.correction or v.family not in out:
            out[v.family] = v.correction or default
    return out
