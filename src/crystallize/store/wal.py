"""Check a SQLite write-ahead log before SQLite opens it.

After a crash the runs committed since the last checkpoint live only in
``store.db-wal``. When that file is damaged, SQLite's recovery silently stops
at the first frame whose checksum fails and drops every transaction after it,
so runs vanish without a word. :func:`check_wal` reads the log the way
SQLite's recovery does (the format is documented at
https://www.sqlite.org/fileformat2.html#walformat) and reports committed
transactions that recovery would drop, so the store can refuse instead.

Checksums are computed with NumPy: the checksum of SQLite is a linear
recurrence over pairs of 32-bit words, so each frame's part is a sum of
products with powers of a 2x2 matrix, modulo 2**32.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import numpy as np

__all__ = ["check_wal"]

_MAGICS = (0x377F0682, 0x377F0683)  # little-endian, big-endian checksums
_VERSION = 3007000
_HEADER = struct.Struct(">8I")
_FRAME_HEADER = struct.Struct(">6I")
_MASK = 0xFFFFFFFF
_CHUNK_FRAMES = 512


def _checksum(words: np.ndarray, s0: int, s1: int) -> tuple[int, int]:
    """SQLite's WAL checksum of ``words`` (32-bit values, even count), from ``(s0, s1)``."""
    for a, b in words.reshape(-1, 2).tolist():
        s0 = (s0 + a + s1) & _MASK
        s1 = (s1 + b + s0) & _MASK
    return s0, s1


def _powers(count: int) -> np.ndarray:
    """``M**j`` for ``j = 0 .. count`` with ``M = [[1, 1], [1, 2]]``, entries modulo 2**32 (uint64)."""
    out = np.empty((count + 1, 2, 2), dtype=np.uint64)
    out[0] = np.eye(2, dtype=np.uint64)
    step = np.array([[1, 1], [1, 2]], dtype=np.uint64)
    for j in range(1, count + 1):
        out[j] = (step @ out[j - 1]) & np.uint64(_MASK)
    return out


class _Frames:
    """Checksums of whole frames: each frame's own part at once, then chained."""

    def __init__(self, page_size: int, big_endian: bool) -> None:
        self.pairs = (8 + page_size) // 8
        self.dtype = np.dtype(">u4" if big_endian else "<u4")
        powers = _powers(self.pairs)
        self.reversed = np.ascontiguousarray(powers[self.pairs - 1::-1])  # M**(K-k) for k = 1 .. K
        self.total = [[int(x) for x in row] for row in powers[self.pairs].tolist()]

    def checksums(self, frames: np.ndarray, s0: int, s1: int) -> list[tuple[int, int]]:
        """The running checksum after each frame (rows: the frame header's first 8 bytes, then the page)."""
        words = frames.view(self.dtype).astype(np.uint64).reshape(len(frames), self.pairs, 2)
        inputs = np.empty_like(words)
        inputs[..., 0] = words[..., 0]
        inputs[..., 1] = words[..., 0] + words[..., 1]
        own = np.einsum("kij,fkj->fi", self.reversed, inputs) & np.uint64(_MASK)
        (m00, m01), (m10, m11) = self.total
        out = []
        for c0, c1 in own.tolist():
            s0, s1 = (m00 * s0 + m01 * s1 + c0) & _MASK, (m10 * s0 + m11 * s1 + c1) & _MASK
            out.append((s0, s1))
        return out


def _damage(data: bytes) -> str | None:
    """What recovery of the log ``data`` would silently drop, or ``None``."""
    if len(data) <= _HEADER.size:
        return None
    magic, version, page_size, _, salt1, salt2, check1, check2 = _HEADER.unpack_from(data)
    header_ok = (magic in _MAGICS and version == _VERSION and 512 <= page_size <= 65536
                 and page_size & (page_size - 1) == 0)
    big_endian = bool(magic & 1)
    if header_ok:
        header_words = np.frombuffer(data[:24], dtype=">u4" if big_endian else "<u4")
        header_ok = _checksum(header_words, 0, 0) == (check1, check2)
    if not header_ok:
        return f"the header of its write-ahead log is damaged, so the {len(data) - 32} bytes of log after it " \
               "(every run committed since the last checkpoint) would be dropped"
    frame_size = 24 + page_size
    count = (len(data) - 32) // frame_size
    frames = _Frames(page_size, big_endian)
    s0, s1 = check1, check2
    bad_at: int | None = None
    for start in range(0, count, _CHUNK_FRAMES):
        stop = min(count, start + _CHUNK_FRAMES)
        heads = [_FRAME_HEADER.unpack_from(data, 32 + i * frame_size) for i in range(start, stop)]
        if bad_at is None:
            block = np.frombuffer(data, dtype=np.uint8, count=(stop - start) * frame_size,
                                  offset=32 + start * frame_size).reshape(stop - start, frame_size)
            sums = frames.checksums(np.concatenate([block[:, :8], block[:, 24:]], axis=1), s0, s1)
            for offset, (head, running) in enumerate(zip(heads, sums)):
                if (head[2], head[3]) != (salt1, salt2) or head[0] == 0 or (head[4], head[5]) != running:
                    bad_at = start + offset
                    break
            else:
                s0, s1 = sums[-1]
                continue
        for index in range(max(start, bad_at + 1), stop):
            head = heads[index - start]
            if (head[2], head[3]) == (salt1, salt2) and head[1] != 0:  # a commit frame of this log
                return (f"frame {bad_at + 1} of its write-ahead log is damaged, so every transaction committed "
                        f"after it (the first at frame {index + 1}) would be dropped")
    return None


def check_wal(db_path: Path) -> str | None:
    """Describe the damage in ``db_path``'s write-ahead log, or return ``None``.

    Damage is reported only when two reads, a moment apart, of an unchanged
    file find the same problem: a log that another process is writing (or
    restarting) can look torn while it is read.
    """
    wal = Path(f"{db_path}-wal")
    seen: tuple[str, int, int] | None = None
    for _ in range(5):
        try:
            if os.stat(wal).st_size <= _HEADER.size:
                return None
            data = wal.read_bytes()
            after = os.stat(wal)
        except OSError:
            return None
        problem = _damage(data)
        if problem is None:
            return None
        now = (problem, after.st_size, after.st_mtime_ns)
        if now == seen and len(data) == after.st_size:
            return problem
        seen = now
        time.sleep(0.1)
    return None
