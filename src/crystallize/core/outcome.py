"""What a statistical test said, in one shape whatever test said it.

A built-in test is asked for its full result at the interval level the verdict
needs; a test of yours is asked through ``run`` (the seed's mapping contract)
and its own ``significant``, when it gives one, decides; equivalence and
non-inferiority claims are decided by the margin tests of :mod:`crystallize.stats`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from crystallize.core.stat_test import StatisticalTest, _StatsTest

if TYPE_CHECKING:
    from crystallize.stats import TestResult

__all__ = ["Outcome", "margin_outcome", "test_outcome"]

#: Keys of a test's mapping that become verdict fields rather than details.
_CONSUMED = frozenset({
    "p_value", "statistic", "significant", "effect_size", "effect_size_name", "ci", "confidence_level", "notes",
    "n_baseline", "n_treatment", "n_pairs", "mean_baseline", "mean_treatment", "test", "margin", "estimate",
    "estimand", "alpha",
})


@dataclass(frozen=True)
class Outcome:
    """One test's answer, normalised.

    ``significant`` is set only when the test decided significance itself;
    otherwise the framework decides from ``p_value``.
    """

    test: str
    p_value: float | None
    statistic: float | None = None
    significant: bool | None = None
    estimate: float | None = None
    estimand: str | None = None
    ci: tuple[float, float] | None = None
    ci_level: float | None = None
    effect_size: float | None = None
    effect_size_name: str | None = None
    notes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _from_result(name: str, result: TestResult, extra_notes: tuple[str, ...] = ()) -> Outcome:
    details = {"alternative": result.alternative, "n_pairs": result.n_pairs}
    return Outcome(
        test=name, p_value=float(result.p_value), statistic=_number(result.statistic),
        estimate=_number(result.estimate), estimand=result.estimand,
        ci=result.ci.as_tuple() if result.ci is not None else None,
        ci_level=result.ci.level if result.ci is not None else None,
        effect_size=_number(result.effect_size), effect_size_name=result.effect_size_name,
        notes=tuple(result.notes) + extra_notes, details=details,
    )


def is_builtin(test: StatisticalTest) -> bool:
    """Whether ``test`` is one of crystallize's own, with its ``run`` untouched."""
    return isinstance(test, _StatsTest) and type(test).run is _StatsTest.run


def test_outcome(test: StatisticalTest, b: np.ndarray, t: np.ndarray, *, alpha: float, level: float) -> Outcome:
    """Run ``test`` on the samples: a built-in one at interval ``level``, yours through ``run``."""
    if is_builtin(test):
        assert isinstance(test, _StatsTest)
        return _from_result(test.test_name, test.compute(b.tolist(), t.tolist(), confidence_level=level))
    out = dict(test.run(b.tolist(), t.tolist(), alpha=alpha))
    notes = [str(n) for n in (out.get("notes") or ())]
    raw_p = out.get("p_value")
    p_value = _number(raw_p)
    if raw_p is not None and p_value is None:
        notes.append(f"the test returned a p-value that is not a finite number ({raw_p!r}); it is ignored")
    if p_value is not None and not 0.0 <= p_value <= 1.0:
        notes.append(f"the test returned p_value={p_value!r}, outside [0, 1]; it is ignored")
        p_value = None
    decided = out.get("significant")
    ci = out.get("ci")
    interval = (float(ci[0]), float(ci[1])) if ci is not None and len(ci) == 2 else None
    return Outcome(
        test=str(out.get("test") or test.test_name), p_value=p_value, statistic=_number(out.get("statistic")),
        significant=None if decided is None else bool(decided),
        estimate=_number(out.get("estimate")), estimand=out.get("estimand"),
        ci=interval, ci_level=_number(out.get("confidence_level")) if interval else None,
        effect_size=_number(out.get("effect_size")), effect_size_name=out.get("effect_size_name"),
        notes=tuple(notes), details={k: v for k, v in out.items() if k not in _CONSUMED},
    )


def margin_outcome(
    direction: str, b: np.ndarray, t: np.ndarray, *, margin: float, relative: bool,
    higher_is_better: bool | None, test: StatisticalTest, level: float,
) -> Outcome | str:
    """Equivalence (TOST) or non-inferiority as an outcome, or why it cannot be tested.

    Both use t statistics (paired when the hypothesis's test is paired) and report
    the two-sided interval at ``level`` (``1 - 2 alpha``: its ends are the one-sided
    bounds the decision uses). A relative margin tests the contrast ``t - theta b``
    with Fieller's interval of the relative difference.
    """
    from crystallize import stats  # noqa: PLC0415 - keeps `import crystallize` light

    paired = test.paired
    notes: list[str] = []
    if not (isinstance(test, _StatsTest) and test.test_name in ("welch_t", "paired_t")):
        notes.append(f"{test.test_name} has no margin form; decided by {'paired' if paired else 'Welch'} "
                     "t statistics instead")
    share = f"{margin:.4g} of the baseline mean" if relative else f"{margin:.4g}"
    try:
        if direction == "equal":
            name = "tost"
            result = (stats.relative_tost(b, t, margin=margin, paired=paired, confidence_level=level) if relative
                      else stats.tost(b, t, low=-margin, high=margin, paired=paired, confidence_level=level))
            notes.insert(0, f"equivalence by two one-sided t-tests within ±{share}")
        else:
            name = "noninferiority"
            better = bool(higher_is_better)
            result = (stats.relative_noninferiority(b, t, margin=margin, higher_is_better=better, paired=paired,
                                                    confidence_level=level) if relative
                      else stats.noninferiority(b, t, margin=margin, higher_is_better=better, paired=paired,
                                                confidence_level=level))
            notes.insert(0, f"non-inferiority by a one-sided t-test with margin {share} "
                            f"({'higher' if better else 'lower'} is better)")
    except ValueError as exc:
        return f"the claim cannot be tested: {exc}"
    outcome = _from_result(name, result)
    # the one-sided p-values and bounds are details; the plain-words note comes first
    kept = tuple(n for n in outcome.notes if "zero variance" in n or "unbounded" in n)
    return dataclasses.replace(outcome, notes=tuple(notes) + kept,
                               details={**outcome.details, "one_sided_tests": list(outcome.notes)})
