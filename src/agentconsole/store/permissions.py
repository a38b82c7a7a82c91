"""Who may read the store's files: its owner only, unless a team store is set up for a group.

Customer mail and attachments are in the store, so it is created private whatever the umask
(folder 0700, files 0600). A team store is explicit: with a group, the folder is setgid 2770
and the files 0660 for that group, so every agent of the group can open it and new files
(the ``-wal`` and ``-shm`` SQLite makes beside the database, which copy its mode) stay in the
group. SQLite-specific only in the names of those companion files.
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from ..errors import StoreError
from ..models import record

PRIVATE_FOLDER, PRIVATE_FILE = 0o700, 0o600
TEAM_FOLDER, TEAM_FILE = 0o2770, 0o660
#: Files SQLite keeps beside the database.
COMPANIONS = ("-wal", "-shm")


@record
class Exposure:
    """A store file others can read or write, and how to fix it."""

    path: Path
    mode: int

    def __str__(self) -> str:
        return (
            f"{self.path} can be read by every user of this machine (mode {self.mode:04o}); "
            f"run `chmod 600 {self.path}*` and `chmod 700 {self.path.parent}`, or share it "
            "with one group: `agentconsole store share --group GROUP`"
        )


def files_of(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)]


def prepare(path: Path, group: str | None = None) -> None:
    """Create the store's folder and an empty database file with the right modes before
    SQLite opens it (SQLite would create it under the umask). An existing store keeps its
    modes: sharing or un-sharing it is :func:`share`'s job. Raises :class:`StoreError`."""
    gid = _group_id(group) if group else None
    folder = path.parent
    try:
        if not folder.exists():
            folder.mkdir(parents=True, mode=PRIVATE_FOLDER)
            if gid is not None:
                os.chown(folder, -1, gid)
                os.chmod(folder, TEAM_FOLDER)
            else:
                os.chmod(folder, PRIVATE_FOLDER)  # mkdir's mode is filtered by the umask
        if not path.exists():
            mode = TEAM_FILE if gid is not None else PRIVATE_FILE
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
            try:
                os.fchmod(descriptor, mode)
                if gid is not None:
                    os.fchown(descriptor, -1, gid)
            finally:
                os.close(descriptor)
    except FileExistsError:
        pass  # another process created it first: its modes stand
    except OSError as error:
        raise StoreError(f"cannot create the store at {path}: {error.strerror}") from error


def share(path: Path, group: str) -> list[Path]:
    """Make an existing store a team store for ``group`` (folder 2770, files 0660, all owned
    by the group). Returns what was changed. Raises :class:`StoreError`."""
    gid = _group_id(group)
    changed: list[Path] = []
    try:
        os.chown(path.parent, -1, gid)
        os.chmod(path.parent, TEAM_FOLDER)
        changed.append(path.parent)
        for file in files_of(path):
            if file.exists():
                os.chown(file, -1, gid)
                os.chmod(file, TEAM_FILE)
                changed.append(file)
    except OSError as error:
        raise StoreError(
            f"cannot share {path} with group {group}: {error.strerror} (you must own the "
            "files and be a member of the group)"
        ) from error
    return changed


def shared_with(path: Path, group: str) -> bool:
    """Whether the store at ``path`` already is a team store for ``group``: folder 2770 and
    every existing file 0660, all owned by the group."""
    gid = _group_id(group)
    try:
        for item, mode in [(path.parent, TEAM_FOLDER), *((f, TEAM_FILE) for f in files_of(path))]:
            if item != path.parent and not item.exists():
                continue
            status = item.stat()
            if status.st_gid != gid or stat.S_IMODE(status.st_mode) != mode:
                return False
    except OSError:
        return False
    return True


def is_shared(path: Path) -> bool:
    """Whether the store at ``path`` is a team store: its file readable or writable by its
    group (as :func:`share` and ``[store] group`` make it)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IWGRP))


def exposures(path: Path) -> list[Exposure]:
    """Store files every user of the machine may read or write."""
    found = []
    for file in files_of(path):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except OSError:
            continue
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            found.append(Exposure(file, mode))
    return found


def _group_id(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise StoreError(
            f"there is no group {group!r} on this machine (create it with `groupadd {group}` "
            "and add the agents to it)"
        ) from None
