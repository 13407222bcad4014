"""Owner-only folders and files for the store, checked like ssh checks ``~/.ssh``.

The step cache and pickled artifacts run code when loaded, so a folder that
another user can write is refused, with the command that fixes it: a folder
(or database file) writable by the group or by everyone, or owned by another
user (root excepted, as ssh does). A group-writable folder is accepted when
its group is the user's own private group (no other member), as Debian's
ssh does. Folders the store creates are ``0o700`` and its database ``0o600``
(SQLite gives the ``-wal`` and ``-shm`` files the database's mode).
"""

from __future__ import annotations

import functools
import os
import shlex
import stat
from pathlib import Path

from crystallize.store.errors import InsecureStoreError

__all__ = ["check_private", "create_private_file", "make_private_dirs"]


def _user_name(uid: int) -> str:
    try:
        import pwd  # noqa: PLC0415 - POSIX only

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


@functools.lru_cache(maxsize=64)
def _private_group(gid: int, uid: int) -> bool:
    """Whether group ``gid`` holds user ``uid`` alone (a user private group)."""
    try:
        import grp  # noqa: PLC0415 - POSIX only
        import pwd  # noqa: PLC0415

        group = grp.getgrgid(gid)
        me = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return False
    if any(member != me for member in group.gr_mem):
        return False
    return all(user.pw_uid == uid for user in pwd.getpwall() if user.pw_gid == gid)


def check_private(path: Path, what: str) -> None:
    """Refuse ``path`` (a folder or file, if it exists) when other users can write it.

    Args:
        path: the folder or file.
        what: what it is, for the message (e.g. ``"store folder"``).

    Raises:
        InsecureStoreError: it is owned by another user, or writable by others
            (the message gives the ``chown``/``chmod`` to run).
    """
    if os.name != "posix":
        return
    try:
        info = os.stat(path)
    except OSError:
        return
    me = os.geteuid()
    quoted = shlex.quote(str(path))
    if info.st_uid not in (me, 0):
        raise InsecureStoreError(
            str(path), f"the {what} is owned by {_user_name(info.st_uid)} (uid {info.st_uid}), not by you "
            f"({_user_name(me)})", f"chown {_user_name(me)} {quoted} (or use a store folder of your own)")
    mode = stat.S_IMODE(info.st_mode)
    others = mode & stat.S_IWOTH
    group = mode & stat.S_IWGRP and not _private_group(info.st_gid, me)
    if others or group:
        who = "everyone" if others else "its group"
        raise InsecureStoreError(str(path), f"the {what} is writable by {who} (mode {mode:04o})",
                                 f"chmod go-w {quoted}")


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents, each new one owner-only (``0o700``)."""
    missing = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only (``0o600``) unless it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
