"""Fast, stable digests of data for the step cache.

NumPy arrays are hashed by dtype, shape and raw bytes; anything else by its
pickle, with large buffers (arrays inside containers, ``bytes``) hashed in
place instead of copied. Equal digests mean equal pickles: a value whose
pickle varies between processes (e.g. a set of strings) only costs a cache
miss, never a wrong hit.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import numpy as np

from crystallize.store.errors import StoreError

__all__ = ["UnhashableError", "hash_data", "new_digest"]


class UnhashableError(StoreError, TypeError):
    """A value cannot be pickled, so it cannot be part of a cache key."""


def new_digest() -> Any:
    """A fresh hash object (SHA-1: fast, and collisions do not happen by accident)."""
    return hashlib.sha1(usedforsecurity=False)


def _feed_array(digest: Any, array: np.ndarray) -> None:
    digest.update(b"ndarray:" + array.dtype.str.encode() + b":" + repr(array.shape).encode() + b":")
    contiguous = array if array.flags.c_contiguous else np.ascontiguousarray(array)
    digest.update(contiguous.reshape(-1).view(np.uint8))


def feed(digest: Any, value: Any) -> None:
    """Add ``value`` to ``digest``.

    Raises:
        UnhashableError: ``value`` cannot be pickled.
    """
    if isinstance(value, np.ndarray) and not value.dtype.hasobject:
        _feed_array(digest, value)
        return

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        try:
            digest.update(buffer.raw())
        except BufferError:  # not contiguous
            digest.update(bytes(buffer))
        return False

    try:
        stream = pickle.dumps(value, protocol=5, buffer_callback=out_of_band)
    except Exception as exc:  # noqa: BLE001 - any pickling failure means "not cacheable"
        raise UnhashableError(f"cannot hash a {type(value).__name__} for the step cache: {exc}") from exc
    digest.update(stream)


def hash_data(value: Any) -> str:
    """The hex digest of ``value``.

    Raises:
        UnhashableError: ``value`` cannot be pickled.
    """
    digest = new_digest()
    feed(digest, value)
    return str(digest.hexdigest())
