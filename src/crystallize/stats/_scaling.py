"""Scale-safe statistics: extreme values are rescaled by a power of two.

Every test here is equivariant in scale: multiplying the data by ``c`` multiplies
differences, means and intervals by ``c`` and leaves statistics (t, U, ranks) and
p-values unchanged. Variances of values near ``1e80`` overflow (and near
``1e-80`` underflow) in double precision, so data outside ``2**+-100`` are
multiplied by a power of two first and the answer's locations are multiplied
back: exact in floating point, and a no-op for ordinary data.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from crystallize.stats._result import ConfidenceInterval, TestResult

__all__ = ["scale_free"]

#: Data whose largest magnitude has a binary exponent beyond this are rescaled.
_SAFE_EXPONENT = 100

F = TypeVar("F", bound=Callable[..., TestResult])


def _exponent(*values: Any) -> int:
    """The binary exponent to divide by, or 0 when the data are ordinary (or invalid)."""
    try:
        arrays = [np.asarray(v, dtype=np.float64) for v in values]
    except (TypeError, ValueError):
        return 0
    tops = [float(np.max(np.abs(a))) for a in arrays if a.size and np.isfinite(a).all()]
    top = max(tops, default=0.0)
    if top == 0.0 or len(tops) != len(arrays):
        return 0
    exponent = math.frexp(top)[1]
    return exponent if abs(exponent) > _SAFE_EXPONENT else 0


def _rescaled(result: TestResult, factor: float, statistic: bool) -> TestResult:
    ci = result.ci
    if ci is not None:
        ci = ConfidenceInterval(ci.low * factor, ci.high * factor, ci.level)
    return dataclasses.replace(
        result, ci=ci, mean_baseline=result.mean_baseline * factor, mean_treatment=result.mean_treatment * factor,
        estimate=result.estimate * factor, statistic=result.statistic * factor if statistic else result.statistic,
    )


def scale_free(*, margins: tuple[str, ...] = (), location_statistic: bool = False) -> Callable[[F], F]:
    """Make a two-sample test safe for values of any magnitude.

    Args:
        margins: keyword arguments in the data's units, rescaled with the data.
        location_statistic: the statistic is a difference (rescaled back too).
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> TestResult:
            positional = list(args)
            data = [positional[i] if i < len(positional) else kwargs.get(name)
                    for i, name in enumerate(("baseline", "treatment"))]
            exponent = _exponent(*data)
            if exponent == 0:
                return function(*args, **kwargs)
            down = math.ldexp(1.0, -exponent)
            for i, name in enumerate(("baseline", "treatment")):
                scaled = np.asarray(data[i], dtype=np.float64) * down
                if i < len(positional):
                    positional[i] = scaled
                else:
                    kwargs[name] = scaled
            for name in margins:
                if isinstance(kwargs.get(name), (int, float)) and not isinstance(kwargs[name], bool):
                    kwargs[name] = kwargs[name] * down
            return _rescaled(function(*positional, **kwargs), math.ldexp(1.0, exponent), location_statistic)

        return cast(F, wrapper)

    return decorate
