"""Statistical tests as small, inspectable configuration objects.

A test compares the baseline's samples of one metric with a treatment's.
Subclass :class:`StatisticalTest` for your own; ``run`` must return a mapping
with at least ``p_value`` and ``significant``. The built-in tests delegate the
numbers to :mod:`crystallize.stats`; ``TESTS_BY_NAME`` and :func:`get_test`
look them up by the short names used in experiment files.
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from crystallize.stats._result import TestResult

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")

__all__ = [
    "ALTERNATIVES",
    "TESTS_BY_NAME",
    "Alternative",
    "BettingTest",
    "MannWhitneyU",
    "PairedTTest",
    "PermutationTest",
    "SequentialTTest",
    "StatisticalTest",
    "StudentTTest",
    "WelchTTest",
    "WilcoxonSignedRank",
    "get_test",
]


class StatisticalTest(ABC):
    """Base class of every test.

    Attributes:
        name: short name shown in verdicts (defaults to the class name).
        paired: ``True`` when the test needs replicate-aligned samples; the
            experiment then passes baseline and treatment of the same
            replicates, in the same order.
        min_samples: fewest samples per side the test can use; below it the
            verdict says "insufficient data" instead of calling ``run``.
    """

    name: ClassVar[str] = ""
    #: Subclasses that do not call ``super().__init__`` still have an alternative.
    alternative: Alternative = "two-sided"
    paired: ClassVar[bool] = False
    min_samples: ClassVar[int] = 2
    #: Whether the p-value stays valid however often the data are looked at
    #: (required by sequential experiments).
    anytime_valid: ClassVar[bool] = False

    def __init__(self, alternative: Alternative = "two-sided") -> None:
        if alternative not in ALTERNATIVES:
            raise ValueError(f"alternative={alternative!r} is not one of {ALTERNATIVES}")
        self.alternative = alternative

    @property
    def test_name(self) -> str:
        """The name shown in verdicts."""
        return self.name or type(self).__name__

    @abstractmethod
    def run(
        self, baseline: Sequence[float], treatment: Sequence[float], *, alpha: float = 0.05
    ) -> Mapping[str, Any]:
        """Compare ``treatment`` against ``baseline``.

        Returns:
            A mapping with ``p_value`` (float) and/or ``significant`` (bool).
            When ``significant`` is a bool, the test decides significance
            itself: the verdict follows it, and the experiment's
            multiple-comparison correction leaves it alone. Leave ``significant``
            out (or ``None``) to let the framework decide from ``p_value`` after
            adjusting it. A test without a p-value (a Bayes factor, a decision
            rule) returns ``significant`` alone. Optional keys: ``statistic``,
            ``estimate`` (treatment minus baseline, whose sign gives the
            direction), ``ci`` and ``confidence_level``, ``effect_size`` and
            ``effect_size_name``, ``notes``.
        """

    def smallest_p(self, n_baseline: int, n_treatment: int) -> float:
        """The smallest p-value the test can give with these sample sizes (0 when
        none is out of reach). Rank and permutation tests have a floor: with 5
        pairs, no sign pattern gives a two-sided p below 0.0625."""
        del n_baseline, n_treatment
        return 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alternative={self.alternative!r})"


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
    return float(alpha)


def _floor(arrangements: int, alternative: str) -> float:
    """The smallest p-value of a test over ``arrangements`` equally likely outcomes."""
    one_sided = 1.0 / arrangements
    return min(1.0, 2 * one_sided) if alternative == "two-sided" else one_sided


class _StatsTest(StatisticalTest):
    """A built-in test: ``compute`` calls :attr:`_function`, ``run`` gives its mapping."""

    #: The name of the pure function of :mod:`crystallize.stats` that does the numbers
    #: (looked up on first use, so defining tests does not import SciPy).
    _function_name: ClassVar[str]

    @property
    def _function(self) -> Callable[..., TestResult]:
        import crystallize.stats  # noqa: PLC0415

        return getattr(crystallize.stats, type(self)._function_name)  # type: ignore[no-any-return]

    def _options(self) -> dict[str, Any]:
        """Keyword arguments passed to :attr:`_function` besides the samples and level."""
        return {"alternative": self.alternative}

    def compute(
        self, baseline: Sequence[float], treatment: Sequence[float], *, confidence_level: float = 0.95
    ) -> TestResult:
        """Return the full :class:`~crystallize.stats.TestResult`.

        Raises:
            ValueError: for fewer than ``min_samples`` on a side or non-finite values.
        """
        function = self._function
        return function(baseline, treatment, confidence_level=confidence_level, **self._options())

    def run(
        self, baseline: Sequence[float], treatment: Sequence[float], *, alpha: float = 0.05
    ) -> Mapping[str, Any]:
        """Compare ``treatment`` against ``baseline`` at level ``alpha``.

        Returns:
            ``result.as_dict()`` plus ``significant`` (``p_value < alpha``) and
            ``alpha``, with ``test`` set to :attr:`test_name` and ``ci`` the
            two-sided ``1 - alpha`` interval as ``(low, high)`` (``None`` when an
            exact rank interval cannot reach that level).
        """
        a = _check_alpha(alpha)
        result = self.compute(baseline, treatment, confidence_level=1.0 - a)
        return {
            **result.as_dict(),
            "test": self.test_name,
            "significant": result.p_value < a,
            "alpha": a,
            "ci": result.ci.as_tuple() if result.ci is not None else None,
        }


class WelchTTest(_StatsTest):
    """Welch's unequal-variance t-test on independent samples (two-sided by default)."""

    name = "welch_t"
    _function_name = "welch_ttest"


class StudentTTest(_StatsTest):
    """Student's pooled-variance t-test on independent samples."""

    name = "student_t"
    _function_name = "student_ttest"


class PairedTTest(_StatsTest):
    """Paired t-test on replicate-aligned samples (common random numbers)."""

    name = "paired_t"
    paired = True
    _function_name = "paired_ttest"


class MannWhitneyU(_StatsTest):
    """Mann-Whitney U rank test on independent samples."""

    name = "mann_whitney_u"
    _function_name = "mann_whitney_u"

    def smallest_p(self, n_baseline: int, n_treatment: int) -> float:
        """Exact for small samples (the smaller at most 8): one split in ``comb(n_b + n_t, n_t)``."""
        if min(n_baseline, n_treatment) > 8:
            return 0.0
        return _floor(math.comb(n_baseline + n_treatment, n_treatment), self.alternative)


class WilcoxonSignedRank(_StatsTest):
    """Wilcoxon signed-rank test on replicate-aligned samples."""

    name = "wilcoxon_signed_rank"
    paired = True
    _function_name = "wilcoxon_signed_rank"

    def smallest_p(self, n_baseline: int, n_treatment: int) -> float:
        """Exact up to 50 pairs: one sign pattern in ``2**n``."""
        n = min(n_baseline, n_treatment)
        return 0.0 if n > 50 else _floor(2**n, self.alternative)


class PermutationTest(_StatsTest):
    """Permutation test of the mean difference; sign-flip when ``paired``.

    Args:
        paired: flip signs of replicate-aligned differences instead of re-splitting.
        n_resamples: random arrangements when exact enumeration is too large.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        seed: non-negative int; every ``run`` starts from it, so the same data
            always give the same p-value.
    """

    name = "permutation"
    _function_name = "permutation_test"

    def __init__(
        self,
        paired: bool = False,
        n_resamples: int = 10_000,
        alternative: Alternative = "two-sided",
        seed: int = 0,
    ) -> None:
        super().__init__(alternative)
        if not isinstance(paired, (bool, np.bool_)):
            raise ValueError(f"paired={paired!r} is not one of (True, False)")
        if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
            raise ValueError(f"n_resamples={n_resamples!r} must be an integer >= 1")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer")
        self.paired = bool(paired)  # type: ignore[misc]  # per instance, shadows the class default
        self.n_resamples = int(n_resamples)
        self.seed = int(seed)
        self._seed_sequence = np.random.SeedSequence(self.seed)

    def smallest_p(self, n_baseline: int, n_treatment: int) -> float:
        """One arrangement in all of them (exact), or one in ``n_resamples + 1`` (Monte Carlo)."""
        total = 2 ** min(n_baseline, n_treatment) if self.paired else math.comb(n_baseline + n_treatment,
                                                                                n_treatment)
        return _floor(total if total <= self.n_resamples else self.n_resamples + 1, self.alternative)

    def _options(self) -> dict[str, Any]:
        """The pure function's options; a fresh generator from :attr:`seed` on every call."""
        return {
            "paired": self.paired,
            "n_resamples": self.n_resamples,
            "alternative": self.alternative,
            "rng": np.random.default_rng(self._seed_sequence),
        }

    def __repr__(self) -> str:
        return (
            f"PermutationTest(paired={self.paired!r}, n_resamples={self.n_resamples!r}, "
            f"alternative={self.alternative!r}, seed={self.seed!r})"
        )


class SequentialTTest(_StatsTest):
    """The sequential paired t-test: an anytime-valid p-value, however often you look.

    On a fixed design its p-value is valid even if you looked at the data before
    (unlike a t-test's); it is the test of sequential experiments. See
    :func:`crystallize.stats.t_eprocess`.

    Args:
        prior_scale: scale of the normal prior on the standardised effect
            (0.5 aims decisions near 30 replicates).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        expected_replicates: set the prior scale to aim decisions near this count instead.
    """

    name = "sequential_t"
    paired = True
    anytime_valid = True
    _function_name = "sequential_ttest"

    def __init__(self, prior_scale: float = 0.5, alternative: Alternative = "two-sided",
                 expected_replicates: int | None = None) -> None:
        super().__init__(alternative)
        if expected_replicates is not None:
            if isinstance(expected_replicates, bool) or not isinstance(expected_replicates, int) \
                    or expected_replicates < 2:
                raise ValueError(f"expected_replicates={expected_replicates!r} must be an integer >= 2")
            from crystallize.stats._sequential import prior_scale_for  # noqa: PLC0415

            prior_scale = prior_scale_for(expected_replicates)
        if isinstance(prior_scale, bool) or not isinstance(prior_scale, (int, float)) or not prior_scale > 0:
            raise ValueError(f"prior_scale={prior_scale!r} must be a positive number")
        self.prior_scale = float(prior_scale)

    def _options(self) -> dict[str, Any]:
        return {"alternative": self.alternative, "prior_scale": self.prior_scale}

    def __repr__(self) -> str:
        return f"SequentialTTest(prior_scale={self.prior_scale!r}, alternative={self.alternative!r})"


class BettingTest(_StatsTest):
    """An anytime-valid test by betting, exact for any distribution.

    Args:
        mode: ``"bounded"`` for metrics in [0, 1] (tests the mean difference) or
            ``"win_rate"`` (tests whether the treatment wins more replicates than it
            loses; for metrics with catastrophic seeds).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
    """

    name = "betting"
    paired = True
    anytime_valid = True
    _function_name = "betting_test"

    def __init__(self, mode: str = "bounded", alternative: Alternative = "two-sided") -> None:
        super().__init__(alternative)
        if mode not in ("bounded", "win_rate"):
            raise ValueError(f"mode={mode!r} is not one of ('bounded', 'win_rate')")
        self.mode = mode

    def _options(self) -> dict[str, Any]:
        return {"alternative": self.alternative, "mode": self.mode}

    def __repr__(self) -> str:
        return f"BettingTest(mode={self.mode!r}, alternative={self.alternative!r})"


#: Short names used in experiment files.
TESTS_BY_NAME: dict[str, type[StatisticalTest]] = {
    "welch": WelchTTest,
    "student": StudentTTest,
    "paired_t": PairedTTest,
    "mann_whitney": MannWhitneyU,
    "wilcoxon": WilcoxonSignedRank,
    "permutation": PermutationTest,
    "sequential_t": SequentialTTest,
    "betting": BettingTest,
}


def get_test(name: str, **options: Any) -> StatisticalTest:
    """Build a test from its short name, e.g. ``get_test("welch", alternative="greater")``.

    Args:
        name: a key of :data:`TESTS_BY_NAME` (case-insensitive; ``-`` reads as ``_``).
        **options: keyword arguments of the test's constructor.

    Raises:
        ValueError: for an unknown name (with a close match, if any) or bad options.
    """
    key = str(name).strip().lower().replace("-", "_")
    cls = TESTS_BY_NAME.get(key)
    if cls is None:
        close = difflib.get_close_matches(key, TESTS_BY_NAME, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown statistical test {name!r}{hint} (known: {', '.join(TESTS_BY_NAME)})")
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"invalid options for test {name!r}: {exc}") from exc
