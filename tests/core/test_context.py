from __future__ import annotations

import numpy as np
import pytest

from crystallize import ContextMutationError, FrozenContext
from crystallize.core.treatment import Treatment


def test_new_keys_may_be_added_existing_never_change():
    ctx = FrozenContext({"lr": 0.1})
    ctx["momentum"] = 0.9
    assert ctx["momentum"] == 0.9
    with pytest.raises(ContextMutationError, match="'lr'"):
        ctx["lr"] = 0.2
    with pytest.raises(ContextMutationError, match="'momentum'"):
        ctx["momentum"] = 0.5
    assert ctx["lr"] == 0.1


def test_keys_cannot_be_deleted():
    ctx = FrozenContext({"a": 1})
    with pytest.raises(ContextMutationError, match="removed"):
        del ctx["a"]


def test_as_dict_is_read_only():
    ctx = FrozenContext({"a": 1})
    view = ctx.as_dict()
    with pytest.raises(TypeError):
        view["a"] = 2  # type: ignore[index]
    assert dict(view) == {"a": 1}


def test_missing_key_suggests_close_match():
    ctx = FrozenContext({"learning_rate": 0.1})
    with pytest.raises(KeyError, match="did you mean 'learning_rate'"):
        ctx["learning_rat"]


def test_rng_is_a_generator_seeded_from_the_seed():
    a = FrozenContext({"seed": 5}).rng.random(3)
    b = FrozenContext({"seed": 5}).rng.random(3)
    np.testing.assert_array_equal(a, b)
    assert isinstance(FrozenContext({}, seed=1).rng, np.random.Generator)


def test_treatment_writes_into_open_context_but_not_reserved_keys():
    ctx = FrozenContext({"replicate": 0, "condition": "t", "seed": 1})
    Treatment("t", {"lr": 0.5}).apply(ctx)
    assert ctx["lr"] == 0.5
    with pytest.raises(ContextMutationError) as info:
        Treatment("bad", {"seed": 3}).apply(FrozenContext({"replicate": 0, "condition": "bad", "seed": 1}))
    assert info.value.key == "seed" and info.value.treatment == "bad"
    with pytest.raises(ContextMutationError, match="'lr'"):
        ctx["lr"] = 1.0  # frozen after the treatment


def test_reads_are_tracked():
    ctx = FrozenContext({"a": 1, "b": 2})
    reads = ctx.track_reads()
    ctx["a"]
    ctx.get("missing")
    assert reads == {"a"}
    ctx.stop_tracking()
    ctx["b"]
    assert reads == {"a"}


def test_repr_truncates_long_contexts():
    ctx = FrozenContext({f"k{i}": i for i in range(20)})
    assert "10 more" in repr(ctx)
