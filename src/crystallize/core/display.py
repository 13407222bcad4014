"""A verdict's numbers as a person reads them, the same in every place they are shown.

The terminal summary (``print(result)``, ``crystallize show``), the HTML report
and ``crystallize compare`` all write numbers through these helpers, so that

* a p-value is never rounded across its verdict's ``alpha`` (0.04996 is not
  printed as "0.05" when alpha is 0.05);
* the difference shown is the test's own estimate (the Hodges-Lehmann shift of
  a rank test, the relative difference of a relative margin), named when it is
  not the mean difference, and relative estimates are shown as percentages;
* every interval carries its true level ("90%" for a one-sided decision) and
  a sentence says why, and whether it is per comparison or simultaneous;
* a percentage change is shown only where the baseline mean is clearly not 0;
* numbers of any magnitude (1e160 as much as 1e-160) are summarised without
  overflowing;
* a sequential verdict shows its evidence (E, from ln E without overflow) and
  where it was decided, and a sequential result says where and why it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from crystallize.core.verdict import DEFAULT_FAMILY

if TYPE_CHECKING:
    from crystallize.core.verdict import Verdict

__all__ = ["DASH", "better_direction", "decided_text", "difference_text", "estimand_label", "estimate_value",
           "evidence_lines", "format_e_value", "format_number", "format_p", "format_percent", "interval_bounds",
           "interval_label", "interval_notes", "interval_text", "level_text", "margin_bounds", "mean_sd", "one_sided",
           "relative_text", "stop_text"]

DASH = "—"

#: Short names of the estimands that are not the mean difference.
_ESTIMAND_SHORT = {"hodges_lehmann_shift": "HL shift", "pseudo_median": "pseudo-median",
                   "relative_difference": "relative"}


def format_number(value: float | None, digits: int = 4) -> str:
    """Compact number formatting: ``None`` or NaN as a dash, very small or large values
    in scientific notation."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if value != 0 and math.isfinite(value) and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.2e}"
    return f"{value:.{digits}g}"


def _signed(value: float, digits: int) -> str:
    value += 0.0  # no "-0"
    text = format_number(value, digits)
    return text if text.startswith(("-", DASH)) or value == 0 else "+" + text


def format_percent(fraction: float | None, digits: int = 3) -> str:
    """A fraction as a signed percentage (``0.0298`` as ``"+2.98%"``)."""
    if fraction is None or not math.isfinite(fraction):
        return DASH if fraction is None or math.isnan(fraction) else ("+inf%" if fraction > 0 else "-inf%")
    return _signed(fraction * 100, digits) + "%"


def _side(value: float, alpha: float) -> int:
    return (value > alpha) - (value < alpha)


def _p_text(p: float, digits: int) -> str:
    if p != 0 and p < 1e-3:
        return f"{p:.{digits - 1}e}"
    return f"{p:.{digits}g}"


def format_p(p: float | None, alpha: float | None = None, digits: int = 3) -> str:
    """A p-value with ``digits`` significant digits, or more when fewer would cross ``alpha``.

    The printed number compares with ``alpha`` as the true one does (below, equal
    or above), so a reader never sees "0.05" for 0.04996 (significant at 0.05) or
    for 0.05004 (not significant).

    Examples:
        >>> format_p(0.04996, 0.05), format_p(0.05004, 0.05), format_p(0.0512, 0.05)
        ('0.04996', '0.05004', '0.0512')
    """
    if p is None or math.isnan(p):
        return DASH
    text = _p_text(p, digits)
    if alpha is None:
        return text
    side = _side(p, alpha)
    while _side(float(text), alpha) != side and digits < 17:
        digits += 1
        text = _p_text(p, digits)
    return text


def level_text(level: float | None) -> str:
    """A confidence level as a percentage: ``0.95`` as ``"95%"``, ``1 - 0.05/3`` as ``"98.33%"``."""
    if level is None:
        return "level not stated"
    return f"{round(level * 100, 2):g}%"


def _relative_estimate(verdict: Verdict) -> bool:
    return verdict.estimand == "relative_difference"


def relative_text(verdict: Verdict) -> str:
    """The mean difference as a percentage of the baseline mean, in brackets, or ``""``
    when the baseline mean is indistinguishable from 0 (``Verdict.relative_difference``)."""
    rel = verdict.relative_difference
    return f" ({format_percent(rel, 2)})" if rel is not None and math.isfinite(rel) else ""


def estimand_label(verdict: Verdict) -> str:
    """What the shown difference is when it is not the mean difference (``"HL shift"``,
    ``"pseudo-median"``, ``"relative"``), else ``""``."""
    return _ESTIMAND_SHORT.get(str(verdict.estimand), "")


def estimate_value(verdict: Verdict, digits: int = 3) -> str:
    """The test's own estimate, treatment minus baseline: ``"+0.31 (+3.1%)"`` for a mean
    difference (with its percentage of the baseline mean when that is meaningful),
    ``"+2.98%"`` for a relative difference, ``"+0.29"`` for a rank shift."""
    value = verdict.difference
    if value is None:
        return DASH
    if _relative_estimate(verdict):
        return format_percent(value, digits)
    if verdict.estimand in (None, "mean_difference"):
        return _signed(value, digits) + relative_text(verdict)
    return _signed(value, digits)


def difference_text(verdict: Verdict, digits: int = 3) -> str:
    """:func:`estimand_label` and :func:`estimate_value` on one line: ``"HL shift +0.29"``."""
    label = estimand_label(verdict)
    return f"{label} {estimate_value(verdict, digits)}" if label else estimate_value(verdict, digits)


def interval_bounds(verdict: Verdict, digits: int = 3) -> str:
    """The interval's ends (percentages for a relative estimate), or a dash when there is none."""
    if verdict.ci is None:
        return DASH
    low, high = verdict.ci
    if _relative_estimate(verdict):
        return f"[{format_percent(low, digits)}, {format_percent(high, digits)}]"
    return f"[{format_number(low, digits)}, {format_number(high, digits)}]"


def interval_label(verdict: Verdict) -> str:
    """``"95% CI"``, ``"90% CI"``, ``"98.33% CI"``: the interval's true two-sided level."""
    if verdict.ci is None:
        return ""
    if verdict.ci_level is None:
        return "CI, level not stated"
    return f"{level_text(verdict.ci_level)} {'CS' if verdict.sequential else 'CI'}"


def interval_text(verdict: Verdict, digits: int = 3) -> str:
    """The interval with its level on one line: ``"[-0.012, 0.034] 90% CI"``."""
    if verdict.ci is None:
        return DASH
    return f"{interval_bounds(verdict, digits)} {interval_label(verdict)}"


def one_sided(verdict: Verdict) -> bool:
    """Whether the decision is one-sided: equivalence, non-inferiority or a one-sided test."""
    return verdict.direction in ("equal", "no_worse") or verdict.alternative != "two-sided"


def better_direction(verdict: Verdict) -> int | None:
    """``+1`` when the hypothesis wants the metric higher, ``-1`` lower, ``None`` when it
    states no way (any change, equivalence)."""
    if verdict.direction == "increase":
        return 1
    if verdict.direction == "decrease":
        return -1
    if verdict.direction == "no_worse":  # the side the test took, else the hypothesis's higher_is_better
        tested = verdict.details.get("alternative")
        if tested in ("greater", "less"):
            return 1 if tested == "greater" else -1
        return None if verdict.higher_is_better is None else 1 if verdict.higher_is_better else -1
    if verdict.direction is None and verdict.alternative in ("greater", "less"):
        return 1 if verdict.alternative == "greater" else -1
    return None


def margin_bounds(verdict: Verdict) -> tuple[float, ...]:
    """The margin as bounds of the estimate: ``(-m, +m)`` for equivalence, the largest
    tolerated loss for non-inferiority (``-m`` when higher is better); ``()`` otherwise.
    A relative margin is a fraction, like a relative estimate."""
    m = verdict.margin
    if m is None or verdict.direction not in ("equal", "no_worse"):
        return ()
    if verdict.direction == "equal":
        return (-m, m)
    better = better_direction(verdict)
    return () if better is None else (-better * m,)


def _families(verdicts: Sequence[Verdict]) -> str:
    sizes = {v.family: v.comparisons for v in verdicts}
    if len(sizes) == 1:
        family, k = next(iter(sizes.items()))
        return f"the {k} comparisons" + (f" of family {family!r}" if family != DEFAULT_FAMILY else "")
    return f"the comparisons of each family ({', '.join(f'{k} in {f!r}' for f, k in sizes.items())})"


_ONE_SIDED = "equivalence, non-inferiority and one-sided tests"
_TESTED_END = "its end on the tested side (both ends for equivalence) is the one-sided"


def _level_note(v: Verdict) -> str:
    """Why an interval has its level, in one sentence."""
    level, alpha = level_text(v.ci_level), f"alpha = {v.alpha:g}"
    if v.ci_level is None:
        return "CI without a level: set by the test, which did not state it."
    if v.sequential:
        return (f"{level} CS: confidence sequence at {alpha} (1 - alpha), valid at every look at once, whenever "
                "the experiment stopped.")
    bound = level_text((1 + v.ci_level) / 2)
    if v.ci_simultaneous:
        where = f"k = {v.comparisons} comparisons" + (f" of family {v.family!r}" if v.family != DEFAULT_FAMILY else "")
        if one_sided(v):
            return f"{level} CI: {_ONE_SIDED}, 1 - 2 alpha/k for the {where} ({alpha}); {_TESTED_END} {bound} bound."
        return f"{level} CI: two-sided tests, 1 - alpha/k for the {where} ({alpha})."
    if one_sided(v):
        return (f"{level} CI: {_ONE_SIDED} at {alpha} (1 - 2 alpha): {_TESTED_END} {bound} bound that the "
                "decision uses.")
    return f"{level} CI: two-sided tests at {alpha} (1 - alpha)."


def interval_notes(verdicts: Iterable[Verdict]) -> list[str]:
    """Plain sentences on the intervals shown: each level and why, and whether they are
    per comparison or simultaneous."""
    verdicts = list(verdicts)
    shown = [v for v in verdicts if v.ci is not None]
    lines = list(dict.fromkeys(_level_note(v) for v in shown))
    many = [v for v in shown if v.comparisons > 1 and not v.sequential]
    simultaneous = [v for v in many if v.ci_simultaneous]
    separate = [v for v in many if not v.ci_simultaneous]
    if simultaneous:
        lines.append(f"Simultaneous intervals (Bonferroni) over {_families(simultaneous)}: all of a family's "
                     "intervals cover together with probability at least 1 - alpha (for one-sided decisions, "
                     "their tested-side bounds hold together at 1 - alpha).")
    if separate:
        corrected = sorted({_CORRECTIONS.get(str(v.correction), str(v.correction)) for v in separate if v.correction})
        follows = f", although the verdicts follow {'/'.join(corrected)}-adjusted p-values" if corrected else ""
        lines.append(f"Intervals are per comparison: not adjusted for {_families(separate)}{follows}; "
                     "Experiment(intervals=\"simultaneous\") gives simultaneous (Bonferroni) intervals.")
    if any(v.ci is None and v.status == "ok" for v in verdicts):
        lines.append(f"{DASH} as interval: the test gave none (an exact rank interval does not exist at the level "
                     "with so few samples; the notes say why).")
    return lines


_CORRECTIONS = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg"}

_LN10 = math.log(10.0)


def format_e_value(log_e: float | None) -> str:
    """The e-value ``E = exp(ln E)``, compactly and at any size (from ``ln E``, so
    ``ln E = 5000`` does not overflow).

    Examples:
        >>> format_e_value(math.log(562.3)), format_e_value(math.log(0.0213)), format_e_value(5000.0)
        ('562', '0.0213', '3.0e+2171')
    """
    if log_e is None or math.isnan(log_e):
        return DASH
    if math.isinf(log_e):
        return "∞" if log_e > 0 else "0"
    if math.log(1e-3) <= log_e < math.log(999.5):
        return f"{math.exp(log_e):.3g}"
    exponent = math.floor(log_e / _LN10)
    mantissa = round(10 ** (log_e / _LN10 - exponent), 1)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}e{exponent:+03d}"


#: Sequential outcomes that end a comparison before the budget.
_DECIDED = ("accepted", "opposite", "futile")


def decided_text(verdict: Verdict) -> str:
    """``"decided at 15"`` (replicates per condition) for a decided sequential verdict, else ``""``."""
    if verdict.sequential in _DECIDED and verdict.decided_at is not None:
        return f"decided at {verdict.decided_at}"
    return ""


def evidence_lines(verdict: Verdict) -> list[str]:
    """What a sequential verdict adds under its label: ``["E = 562", "decided at 15"]``
    (``[]`` for a fixed design)."""
    if verdict.sequential is None or verdict.status != "ok":
        return []
    lines = [f"E = {format_e_value(verdict.e_value)}"] if verdict.e_value is not None else []
    decided = decided_text(verdict)
    return [*lines, decided] if decided else lines


def _stop_reason(reason: str, verdicts: Sequence[Verdict]) -> str:
    outcomes = [v.sequential for v in verdicts if v.sequential]
    futile, total = outcomes.count("futile"), len(outcomes)
    open_ = sum(o not in _DECIDED for o in outcomes)
    if reason == "decided":
        return "every hypothesis decided" + (f" ({futile} of {total} futile)" if futile else "")
    if reason == "futile":
        return "every hypothesis futile (no effect >= min_effect)"
    if reason == "max_replicates":
        return "budget spent" + (f" ({open_} of {total} inconclusive)" if open_ else "")
    if reason == "interrupted":
        return "interrupted" + (f" ({open_} of {total} undecided)" if open_ else "")
    return reason


def stop_text(info: Mapping[str, Any] | None, verdicts: Sequence[Verdict] = ()) -> str:
    """Where and why a sequential run stopped, from ``result.provenance["sequential"]``:
    ``"sequential: stopped at 35 of at most 200 replicates: every hypothesis decided"``;
    ``""`` for a fixed design."""
    if not info:
        return ""
    budget = (info.get("design") or {}).get("max")
    of = f" of at most {budget}" if budget is not None else ""
    reason = _stop_reason(str(info.get("stop_reason")), verdicts)
    return f"sequential: stopped at {info.get('stopped_at', '?')}{of} replicates: {reason}"


def mean_sd(values: Sequence[float] | np.ndarray) -> tuple[float, float | None]:
    """Mean and sample standard deviation of finite ``values``, safe at any magnitude.

    The values are divided by a power of two near their largest magnitude first
    (exact in floating point), so squares of values near 1e160 do not overflow.
    The sd is ``None`` for a single value.
    """
    data = np.asarray(values, dtype=float)
    top = float(np.max(np.abs(data))) if data.size else 0.0
    scale = math.ldexp(1.0, math.frexp(top)[1]) if top > 0 else 1.0
    scaled = data / scale
    with np.errstate(over="ignore"):
        mean = float(np.mean(scaled)) * scale
        sd = float(np.std(scaled, ddof=1)) * scale if data.size > 1 else None
    return mean, sd
