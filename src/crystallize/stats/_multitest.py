"""Adjusting p-values for multiple comparisons."""

from __future__ import annotations

from typing import Literal, Optional

import numpy as np
from numpy.typing import ArrayLike

from crystallize.stats._validation import FloatArray

__all__ = ["ADJUSTMENTS", "adjust_pvalues"]

Adjustment = Optional[Literal["holm", "bonferroni", "fdr_bh"]]
ADJUSTMENTS: tuple[str | None, ...] = ("holm", "bonferroni", "fdr_bh", None)


def adjust_pvalues(pvalues: ArrayLike, method: Adjustment = "holm") -> FloatArray:
    """Adjust a family of p-values for multiple comparisons.

    ``"bonferroni"`` and ``"holm"`` control the family-wise error rate;
    ``"fdr_bh"`` (Benjamini-Hochberg) controls the false discovery rate; ``None``
    returns the p-values unchanged. Results are clipped to [0, 1], keep the
    input order and equal ``statsmodels.stats.multitest.multipletests(p,
    method=method)[1]``.

    Args:
        pvalues: p-values in [0, 1] (any shape; an empty input gives an empty array).
        method: ``"holm"``, ``"bonferroni"``, ``"fdr_bh"`` or ``None``.

    Returns:
        Adjusted p-values, same shape as ``pvalues``.

    Raises:
        ValueError: for an unknown method or p-values outside [0, 1] or NaN.

    References:
        Holm, S. (1979). A simple sequentially rejective multiple test procedure.
        Scand. J. Statist. 6, 65-70. Benjamini, Y. and Hochberg, Y. (1995).
        Controlling the false discovery rate. J. R. Statist. Soc. B 57, 289-300.

    Examples:
        >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm").tolist()
        [0.03, 0.06, 0.06]
        >>> adjust_pvalues([0.01, 0.04, 0.03], method="fdr_bh").tolist()
        [0.03, 0.04, 0.04]
    """
    if method not in ADJUSTMENTS:
        raise ValueError(f"`method` must be one of {ADJUSTMENTS}, got {method!r}")
    try:
        p = np.array(pvalues, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`pvalues` must be numbers in [0, 1]: {exc}") from exc
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"`pvalues` must be in [0, 1] without NaN, got {p.ravel()[:10].tolist()}")
    if method is None or p.size == 0:
        return p
    flat = p.ravel()
    m = flat.size
    if method == "bonferroni":
        return np.minimum(flat * m, 1.0).reshape(p.shape)
    order = np.argsort(flat, kind="stable")
    ranked = flat[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:  # fdr_bh: step-up, cumulative minimum from the largest p
        adjusted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out.reshape(p.shape)
