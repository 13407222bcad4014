"""The run store: every run recorded, resume, artifacts and the step cache."""

from __future__ import annotations

from typing import Any

from crystallize.store.base import NullStore, RunStore

__all__ = ["NullStore", "RunStore", "resolve_store"]


def resolve_store(store: Any) -> RunStore:
    """A store from the ``store=`` argument of ``Experiment.run``.

    ``False`` or ``None`` means no store.
    """
    if store is None or store is False:
        return NullStore()
    if hasattr(store, "begin"):
        return store  # type: ignore[no-any-return]
    raise ValueError(f"store={store!r} is not supported yet; use store=False")
