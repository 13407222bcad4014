from __future__ import annotations

import numpy as np
import pytest

from crystallize.core.plan import plan_runs, replicate_seed, replicate_seeds


@pytest.mark.parametrize("master", [0, 1, 7, 2**31, 2**32 - 1, 2**32, 2**64 + 5, 2**127 + 3, 12345678901234567890])
def test_vectorised_seeds_equal_seed_sequence_children(master):
    # reference: numpy.random.SeedSequence(master).spawn(n)[i].generate_state(1)[0]
    children = np.random.SeedSequence(master).spawn(200)
    expected = [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]
    assert replicate_seeds(master, 200).tolist() == expected
    assert [replicate_seed(master, i) for i in range(200)] == expected
    assert replicate_seeds(master, 50, start=150).tolist() == expected[150:]


def test_plan_is_replicate_major_and_shares_seeds_across_conditions():
    plan = plan_runs(3, ["baseline", "a", "b"], 4)
    assert [(s.condition, s.replicate) for s in plan[:4]] == [("baseline", 0), ("a", 0), ("b", 0), ("baseline", 1)]
    for replicate in range(4):
        seeds = {s.seed for s in plan if s.replicate == replicate}
        assert seeds == {replicate_seed(3, replicate)}
    assert plan[0].key == "baseline/0"
