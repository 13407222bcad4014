"""Runs planned as data: one :class:`RunSpec` per condition and replicate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BASELINE", "RunSpec", "plan_runs", "replicate_seed"]

BASELINE = "baseline"


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run to execute: a condition, a replicate and its seed."""

    condition: str
    replicate: int
    seed: int

    @property
    def key(self) -> str:
        """``"<condition>/<replicate>"``, the run's key in ``result.errors``."""
        return f"{self.condition}/{self.replicate}"


def replicate_seed(master_seed: int, replicate: int) -> int:
    """The seed of ``replicate``: child ``replicate`` of ``SeedSequence(master_seed)``.

    It equals ``SeedSequence(master_seed).spawn(n)[replicate]``'s first 32-bit
    word for any ``n > replicate``, so adding replicates never changes the
    seeds of existing ones.
    """
    child = np.random.SeedSequence(master_seed, spawn_key=(replicate,))
    return int(child.generate_state(1, dtype=np.uint32)[0])


def plan_runs(master_seed: int, conditions: Sequence[str], replicates: int) -> list[RunSpec]:
    """Every run, replicate-major: replicate 0 of every condition, then 1, ...

    Every condition of a replicate shares its seed (common random numbers).
    """
    plan: list[RunSpec] = []
    for replicate in range(replicates):
        seed = replicate_seed(master_seed, replicate)
        plan.extend(RunSpec(condition, replicate, seed) for condition in conditions)
    return plan
