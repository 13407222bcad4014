"""Atomic file writes shared by the step cache and the artifacts."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: Path, *chunks: bytes) -> None:
    """Write ``chunks`` to ``path`` so readers see the old file or the whole new one.

    The data goes to a temporary file in the same folder, which then replaces
    ``path`` (``os.replace`` is atomic on POSIX and Windows).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
