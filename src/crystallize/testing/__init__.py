"""Checking experiments' verdicts in tests: assertions and a pytest plugin.

``assert_accepted`` and ``assert_not_worse`` select one verdict by hypothesis
(name or metric) and treatment and fail with the verdict as the summary reads
it. The pytest plugin (:mod:`crystallize.testing.plugin`, registered on install)
adds the ``crystallize_result`` fixture, which runs an experiment once per session.
"""

from __future__ import annotations

from crystallize.testing.assertions import (
    VerdictSelectionError,
    assert_accepted,
    assert_not_worse,
    select_verdict,
    verdict_line,
)

__all__ = ["VerdictSelectionError", "assert_accepted", "assert_not_worse", "select_verdict", "verdict_line"]
