"""Checks of an experiment's design before any run: can each hypothesis be decided at all?"""

from __future__ import annotations

from collections.abc import Sequence

from crystallize.core.hypothesis import Hypothesis

__all__ = ["unreachable_alpha"]

#: Replicate counts tried when looking for one that can reach alpha.
_MAX_REPLICATES = 10_000


def _floor(hypothesis: Hypothesis, replicates: int) -> float:
    return hypothesis.statistical_test.smallest_p(replicates, replicates)


def unreachable_alpha(
    hypotheses: Sequence[Hypothesis], treatments: int, replicates: int, correction: str | None
) -> list[str]:
    """One message per hypothesis whose test cannot give a p-value below its
    (adjusted) alpha with ``replicates`` per condition, naming the smallest count that can.

    Holm and Bonferroni multiply the smallest p-value by the number of
    comparisons in the hypothesis's family before it can count; rank and
    permutation tests have a floor (one arrangement in all of them).
    """
    sizes: dict[str, int] = {}
    for h in hypotheses:
        sizes[h.family] = sizes.get(h.family, 0) + treatments
    messages = []
    for h in hypotheses:
        if h.direction in ("equal", "no_worse"):
            continue  # decided by t statistics
        factor = sizes[h.family] if correction in ("holm", "bonferroni") and sizes[h.family] > 1 else 1
        if _floor(h, replicates) * factor < h.alpha:
            continue
        needed = next((n for n in range(replicates + 1, _MAX_REPLICATES) if _floor(h, n) * factor < h.alpha), None)
        smallest = _floor(h, replicates)
        adjusted = f", which {correction} multiplies by its {factor} comparisons ({smallest * factor:.4g})" \
            if factor > 1 else ""
        fix = f"use at least {needed} replicates" if needed else "use another test"
        messages.append(
            f"hypothesis {h.name!r}: {h.statistical_test.test_name} can never be significant with {replicates} "
            f"replicates: its smallest possible p-value is {smallest:.4g}{adjusted}, not below "
            f"alpha = {h.alpha:g}; {fix}"
        )
    return messages
