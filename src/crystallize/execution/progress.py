"""Progress reporting for experiment runs."""

from __future__ import annotations

from typing import Any

__all__ = ["NullProgress", "make_progress"]


class NullProgress:
    """A listener that shows nothing."""


def make_progress(progress: bool | None) -> Any:
    """A progress listener; ``None`` means: only on a terminal."""
    del progress
    return NullProgress()
