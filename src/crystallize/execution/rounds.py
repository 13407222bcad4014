"""Runs that come in rounds: the first round now, each next one once the previous has finished.

A sequential experiment analyses the records after every round and only then
knows whether to run more. Backends treat a :class:`Rounds` like any sequence
of runs, and when they have finished all of it, ask :meth:`Rounds.next_round`
for more, with the same workers still up. Backends know nothing of why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from crystallize.core.plan import RunSpec

__all__ = ["Rounds", "each_round"]


class Rounds(Sequence[RunSpec]):
    """A sequence of runs (the first round) that can ask for another round.

    Subclass it and override :meth:`next_round`; as a sequence it holds the
    first round only.
    """

    def __init__(self, first: Sequence[RunSpec]) -> None:
        self._first = list(first)

    def next_round(self) -> list[RunSpec]:
        """The runs of the next round, once every run of the previous one is
        recorded; empty when there is none."""
        return []

    def __len__(self) -> int:
        return len(self._first)

    @overload
    def __getitem__(self, index: int) -> RunSpec: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RunSpec]: ...

    def __getitem__(self, index: int | slice) -> RunSpec | Sequence[RunSpec]:
        return self._first[index]


def each_round(specs: Sequence[RunSpec]) -> Iterator[Sequence[RunSpec]]:
    """The rounds of ``specs``: itself, then (for :class:`Rounds`) each next round,
    asked for only when the caller comes back for it."""
    yield specs
    if isinstance(specs, Rounds):
        while more := specs.next_round():
            yield more
