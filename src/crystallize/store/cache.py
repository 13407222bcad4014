"""The step cache: outputs of cacheable steps, on disk, never stale.

A step opts in with ``cacheable = True`` (class attribute) or
``@pipeline_step(cacheable=True)``. Its output is then stored under a key
made of:

* the step's name, params and code: its source and the source of every
  function and class of its module that it calls
  (:func:`~crystallize.core.fingerprint.code_fingerprint`);
* a digest of its input data (NumPy arrays by bytes, dtype and shape;
  anything else by its pickle);
* the current value of every context key the step read the first time it ran
  on that input (``ctx[k]``, ``ctx.get(k)`` and ``k in ctx`` all count; a
  key that is absent is a distinct value), so a treatment that changes a value
  the step reads never receives another condition's output;
* the state of ``ctx.rng`` and of the global random generators when the step
  draws from them; a hit restores the state the step left behind, and keys
  the step added to the context are added again, so later steps see exactly
  what they would have seen.

Layout: ``<cache>/<ab>/<base>.json`` lists the key sets seen for one (code,
params, input); ``<cache>/<cd>/<key>.entry`` holds one output. Every file is
written to a temporary file in the same folder and moved into place with
``os.replace``, so concurrent writers never leave a torn entry; an entry that
is corrupt or truncated (checked by length and CRC-32) counts as a miss and
is overwritten.

Entries are pickles: loading one runs code, exactly like importing a module.
Only use caches you wrote yourself; the cache folder is created readable by
its owner only (mode ``0o700``), and a cache folder (or entry) that other
users can write is refused, like ssh refuses such a ``~/.ssh``. Delete the
folder to clear the cache.

Looking a step up reads the context as the framework, not as the user's
code: it never counts as reading a key (so a treatment key that nothing reads
is still reported), while a hit counts the keys the step read when it ran.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crystallize.core.context import FrozenContext
from crystallize.core.fingerprint import stable_json
from crystallize.core.pipeline import CacheLookup
from crystallize.core.pipeline_step import PipelineStep
from crystallize.store.files import atomic_write
from crystallize.store.hashing import UnhashableError, feed, new_digest
from crystallize.store.permissions import check_private, make_private_dirs
from crystallize.store.tracking import (
    GlobalState,
    TrackingContext,
    global_state,
    restore_global_state,
    same_global_state,
)

__all__ = ["FileStepCache"]

log = logging.getLogger("crystallize")

_MAGIC = b"CRYSTC01"
_HEADER = struct.Struct("<8sIQ")  # magic, crc32 of the payload, payload length
_ABSENT = b"\0absent"
_VERSION = "crystallize-step-cache-1"
_warned: set[str] = set()


@dataclass(frozen=True)
class _Variant:
    """Which parts of the run's state a step looked at."""

    keys: tuple[str, ...]
    all_keys: bool = False
    rng: bool = False
    global_rng: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"keys": list(self.keys), "all": self.all_keys, "rng": self.rng, "global": self.global_rng}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Variant:
        return cls(tuple(data["keys"]), bool(data["all"]), bool(data["rng"]), bool(data["global"]))


@dataclass
class _Pending:
    """A miss in progress: what ``save`` needs to file the output."""

    step: str
    base: str
    context: TrackingContext
    global_before: GlobalState
    artifacts_before: int


def _count_reads(ctx: FrozenContext, variant: _Variant) -> None:
    """On a hit, count the keys the step read when it ran as read now (the step's
    code did read them; only its output comes from the cache)."""
    if variant.all_keys:
        ctx.keys()
        return
    for name in variant.keys:
        ctx.get(name)


def _warn_once(step: str, message: str) -> None:
    if step not in _warned:
        _warned.add(step)
        log.warning(message)


class FileStepCache:
    """A :class:`~crystallize.core.pipeline.StepCache` in a folder of files.

    It holds only the folder's path, so it pickles cheaply to worker
    processes and cluster nodes (which must see the same file system to share
    entries; otherwise each keeps its own).

    Args:
        root: the cache folder (created on first write, mode ``0o700``).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = str(root)
        self._trusted: set[str] = set()  # folders found owner-only in this process

    def __repr__(self) -> str:
        return f"FileStepCache({self.root!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root = state["root"]
        self._trusted = set()

    # -- paths ---------------------------------------------------------------
    def _path(self, name: str, suffix: str) -> Path:
        return Path(self.root) / name[:2] / f"{name}{suffix}"

    def _check(self, folder: Path) -> None:
        """Refuse the cache folder and ``folder`` inside it when other users can write them.

        Raises:
            InsecureStoreError: one of them is writable by others or owned by another user.
        """
        for level in (Path(self.root), folder):
            if str(level) not in self._trusted and level.is_dir():
                check_private(level, "step cache folder")
                self._trusted.add(str(level))

    def _folder(self, path: Path) -> None:
        make_private_dirs(path.parent)
        self._check(path.parent)

    # -- keys ----------------------------------------------------------------
    @staticmethod
    def _base(step: PipelineStep, data: Any) -> str:
        digest = new_digest()
        digest.update(stable_json([_VERSION, step.step_hash]).encode())  # name, params, private state, code
        feed(digest, data)
        return str(digest.hexdigest())

    @staticmethod
    def _key(base: str, variant: _Variant, values: dict[str, Any], absent: set[str],
             rng_state: Any, global_rng: GlobalState | None) -> str:
        digest = new_digest()
        digest.update(base.encode() + stable_json(variant.as_json()).encode())
        for name in sorted(values) if variant.all_keys else variant.keys:
            digest.update(b"\0key " + name.encode() + b"=")
            if name in absent or name not in values:
                digest.update(_ABSENT)
            else:
                feed(digest, values[name])
        if variant.rng:
            digest.update(b"\0rng " + stable_json(rng_state).encode())
        if variant.global_rng and global_rng is not None:
            feed(digest, global_rng)
        return str(digest.hexdigest())

    def _variants(self, base: str) -> list[_Variant]:
        path = self._path(base, ".json")
        self._check(path.parent)
        try:
            data = json.loads(path.read_bytes())
            return [_Variant.from_json(v) for v in data]
        except (OSError, ValueError, KeyError, TypeError):
            return []

    # -- entries ---------------------------------------------------------------
    def _read(self, key: str) -> tuple[Any, ...] | None:
        path = self._path(key, ".entry")
        self._check(path.parent)
        try:
            with open(path, "rb") as handle:
                check_private(path, "step cache entry")
                blob = handle.read()
        except OSError:
            return None
        view = memoryview(blob)
        try:
            magic, crc, length = _HEADER.unpack_from(view)
            payload = view[_HEADER.size:]
            if magic != _MAGIC or length != len(payload) or zlib.crc32(payload) != crc:
                raise ValueError("bad header, length or checksum")
            entry = pickle.loads(payload)
            if not isinstance(entry, tuple) or len(entry) != 4:
                raise ValueError("unexpected content")
        except Exception as exc:  # noqa: BLE001 - any damage means: recompute
            log.warning("step cache entry %s is damaged (%s); recomputing it", path, exc)
            return None
        return entry

    def lookup(self, step: PipelineStep, data: Any, ctx: FrozenContext) -> CacheLookup:
        """Return the cached output of ``step`` on ``data`` in ``ctx``, or a miss.

        On a hit, keys the step added to the context are added again and the
        random state it left behind is restored.
        """
        try:
            base = self._base(step, data)
            for variant in self._variants(base):
                values = dict(ctx._values())  # noqa: SLF001 - the framework's view: not a read by the user's code
                rng_state = ctx.rng.bit_generator.state if variant.rng else None
                globals_now = global_state() if variant.global_rng else None
                key = self._key(base, variant, values, set(), rng_state, globals_now)
                entry = self._read(key)
                if entry is not None:
                    _count_reads(ctx, variant)
                    return CacheLookup(True, self._replay(entry, ctx), key)
        except UnhashableError as exc:
            _warn_once(step.name, f"step {step.name!r} is not cached: {exc}")
            return CacheLookup(False, None, None)
        saved = len(getattr(ctx.artifacts, "saved", ()))
        return CacheLookup(False, None, None, _Pending(step.name, base, TrackingContext(ctx), global_state(), saved))

    @staticmethod
    def _replay(entry: tuple[Any, ...], ctx: FrozenContext) -> Any:
        value, writes, rng_after, global_after = entry
        present = ctx._values()  # noqa: SLF001 - not a read by the user's code
        for name, written in writes.items():
            if name not in present:
                ctx[name] = written
        if rng_after is not None:
            ctx.rng.bit_generator.state = rng_after
        if global_after is not None:
            restore_global_state(global_after)
        return value

    def save(self, lookup: CacheLookup, value: Any, reads: Any) -> str | None:
        """File ``value`` under the key of what the step read; return the key.

        Returns ``None`` (nothing cached) when the output cannot be pickled, or
        when the step saved artifacts (a hit would not save them again).
        """
        pending = lookup.token
        if not isinstance(pending, _Pending):
            return None
        view = pending.context
        if len(getattr(view.artifacts, "saved", ())) > pending.artifacts_before:
            _warn_once(pending.step, f"step {pending.step!r} saved artifacts, so its output is not cached "
                                     "(a cache hit would not save them)")
            return None
        after = global_state()
        global_changed = not same_global_state(pending.global_before, after)
        variant = _Variant(tuple(dict.fromkeys([*view.keys_read, *reads])), view.read_all,
                           view.rng_entry is not None, global_changed)
        values = {k: v for k, v in view._inner._values().items() if k not in view.writes}  # noqa: SLF001
        absent = set(view.writes)
        try:
            key = self._key(pending.base, variant, values, absent, view.rng_entry, pending.global_before)
            payload = pickle.dumps((value, dict(view.writes),
                                    view._inner.rng.bit_generator.state if variant.rng else None,
                                    after if global_changed else None), protocol=5)
        except Exception as exc:  # noqa: BLE001 - whatever pickling raises: not cacheable
            _warn_once(pending.step, f"the output of step {pending.step!r} is not cached: {exc}")
            return None
        entry_path = self._path(key, ".entry")
        try:
            self._folder(entry_path)
            atomic_write(entry_path, _HEADER.pack(_MAGIC, zlib.crc32(payload), len(payload)), payload)
            self._remember(pending.base, variant)
        except OSError as exc:  # a full disk or a read-only folder never fails the run
            _warn_once(pending.step, f"the output of step {pending.step!r} is not cached: cannot write "
                                     f"{entry_path}: {exc}")
            return None
        return key

    def _remember(self, base: str, variant: _Variant) -> None:
        variants = self._variants(base)
        if variant in variants:
            return
        path = self._path(base, ".json")
        self._folder(path)
        atomic_write(path, json.dumps([v.as_json() for v in [*variants, variant]]).encode())
