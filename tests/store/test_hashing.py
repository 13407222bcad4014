"""Digests of step inputs: equal data, equal digest; arrays by bytes, dtype and shape."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from crystallize.store.hashing import UnhashableError, hash_data


def test_arrays_hash_by_content_dtype_and_shape():
    a = np.arange(12, dtype=np.float64)
    assert hash_data(a) == hash_data(a.copy())
    assert hash_data(a) != hash_data(a.astype(np.float32))
    assert hash_data(a) != hash_data(a.reshape(3, 4))
    assert hash_data(a[::2]) == hash_data(np.ascontiguousarray(a[::2]))
    assert hash_data(a.reshape(3, 4).T) == hash_data(np.ascontiguousarray(a.reshape(3, 4).T))
    b = a.copy()
    b[5] = -1
    assert hash_data(a) != hash_data(b)


def test_containers_hash_by_their_pickle_including_arrays_inside():
    a = np.arange(1000.0)
    assert hash_data({"x": a, "y": [1, "z"]}) == hash_data({"x": a.copy(), "y": [1, "z"]})
    changed = a.copy()
    changed[-1] = 0
    assert hash_data({"x": a}) != hash_data({"x": changed})
    assert hash_data(None) != hash_data(0) != hash_data(0.0)


def test_unpicklable_data_is_reported():
    with pytest.raises(UnhashableError, match="cannot hash a dict for the step cache"):
        hash_data({"lock": threading.Lock()})
