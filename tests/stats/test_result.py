"""Result values and shared validation: fields, dict view, messages."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crystallize.stats import ConfidenceInterval, TestResult, welch_ttest


def test_result_is_frozen_with_slots():
    res = welch_ttest([1.0, 2.0, 3.0], [2.0, 3.0, 5.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.p_value = 0.0  # type: ignore[misc]
    assert not hasattr(res, "__dict__")
    assert dataclasses.replace(res, notes=("x",)).notes == ("x",)


def test_as_dict_is_plain():
    res = welch_ttest([1.0, 2.0, 3.0], [2.0, 3.0, 5.0])
    d = res.as_dict()
    assert set(d) == {f.name for f in dataclasses.fields(TestResult)} | {"confidence_level"}
    assert d["ci"] == (res.ci.low, res.ci.high) and isinstance(d["ci"], tuple)
    assert d["confidence_level"] == 0.95
    assert all(not isinstance(v, np.generic) for v in d.values())


def test_significant():
    res = welch_ttest([1.0, 2.0, 3.0], [5.0, 6.0, 7.0])
    assert res.significant(0.05) is True and res.significant(res.p_value) is False
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0, 1\), got 1.5"):
        res.significant(1.5)


def test_p_value_must_be_defined():
    ci = ConfidenceInterval(0.0, 1.0, 0.95)
    with pytest.raises(ValueError, match=r"`p_value` must be in \[0, 1\], got nan"):
        TestResult("x", 0.0, float("nan"), "two-sided", 0.0, "hedges_g", ci, 2, 2, None, 0.0, 0.0)


def test_confidence_interval():
    ci = ConfidenceInterval(-1.0, 2.0, 0.9)
    assert ci.as_tuple() == (-1.0, 2.0) and 0.5 in ci and 3.0 not in ci


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": [1.0]}, r"`baseline` needs at least 2 samples, got n=1"),
        ({"treatment": [1.0, float("nan"), 2.0]}, r"`treatment` contains 1 non-finite value\(s\) \(NaN or inf\) at index \[1\]"),
        ({"baseline": [[1.0, 2.0]]}, r"`baseline` must be one-dimensional, got shape \(1, 2\)"),
        ({"baseline": ["a", "b"]}, r"`baseline` must be a sequence of numbers"),
        ({"alternative": "larger"}, r"`alternative` must be one of \('two-sided', 'greater', 'less'\), got 'larger'"),
        ({"confidence_level": 1.0}, r"`confidence_level` must be in \(0, 1\), got 1.0"),
        ({"confidence_level": "95%"}, r"`confidence_level` must be a number in \(0, 1\), got '95%'"),
    ],
)
def test_validation_messages(kwargs, message):
    args = {"baseline": [1.0, 2.0, 3.0], "treatment": [2.0, 3.0, 4.0], **kwargs}
    b, t = args.pop("baseline"), args.pop("treatment")
    with pytest.raises(ValueError, match=message):
        welch_ttest(b, t, **args)
