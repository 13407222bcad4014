"""Runs planned as data: one :class:`RunSpec` per condition and replicate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BASELINE", "RunSpec", "plan_runs", "replicate_seed", "replicate_seeds"]

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


# NumPy's SeedSequence constants (numpy/random/bit_generator.pyx).
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _MASK = 0xCA01F9DD, 0x4973F715, 0xFFFFFFFF
_POOL = 4


def _words(value: int) -> list[int]:
    """An int as little-endian 32-bit words, as SeedSequence coerces it."""
    words = []
    while True:
        words.append(value & _MASK)
        value >>= 32
        if not value:
            return words


def replicate_seeds(master_seed: int, count: int, start: int = 0) -> np.ndarray:
    """Seeds of replicates ``start .. start + count - 1`` at once.

    The same numbers as :func:`replicate_seed`, computed for every replicate in
    one vectorised pass of SeedSequence's hash (the per-replicate object costs
    microseconds that matter when runs are cheap).
    """
    n = int(count)
    run_words = _words(master_seed)
    run_words += [0] * (_POOL - len(run_words))
    columns = [np.full(n, w, dtype=np.uint32) for w in run_words]
    columns.append(np.arange(start, start + n, dtype=np.uint32))
    hash_const = _INIT_A

    def hashmix(value: np.ndarray) -> np.ndarray:
        nonlocal hash_const
        value = value ^ np.uint32(hash_const)
        hash_const = (hash_const * _MULT_A) & _MASK
        value = value * np.uint32(hash_const)
        return value ^ (value >> np.uint32(16))

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        result = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
        return result ^ (result >> np.uint32(16))

    pool = [hashmix(columns[i]) for i in range(_POOL)]
    for i_src in range(_POOL):
        for i_dst in range(_POOL):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hashmix(pool[i_src]))
    for i_src in range(_POOL, len(columns)):
        for i_dst in range(_POOL):
            pool[i_dst] = mix(pool[i_dst], hashmix(columns[i_src]))
    state = pool[0] ^ np.uint32(_INIT_B)
    state = state * np.uint32((_INIT_B * _MULT_B) & _MASK)
    return state ^ (state >> np.uint32(16))


def plan_runs(master_seed: int, conditions: Sequence[str], replicates: int) -> list[RunSpec]:
    """Every run, replicate-major: replicate 0 of every condition, then 1, ...

    Every condition of a replicate shares its seed (common random numbers).
    """
    seeds = replicate_seeds(master_seed, replicates).tolist()
    return [RunSpec(condition, replicate, seed) for replicate, seed in enumerate(seeds) for condition in conditions]
