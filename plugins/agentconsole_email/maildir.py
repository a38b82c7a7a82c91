"""Reading a Maildir (kept by mbsync, offlineimap, fetchmail, procmail …) without ever
changing it.

Which files are new is decided by their *change time*: creating, renaming or linking a file
into ``new/`` or ``cur/`` sets it to "now", and no tool can set it back (``utime`` sets the
modification time, not this). The cursor is the newest change time delivered plus the names
delivered at exactly that time (file systems stamp in coarse ticks). A message whose flags
change (a rename) comes round again and the core's dedupe on its Message-ID drops it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from agentconsole.plugin import PermanentError

SUBDIRECTORIES = ("new", "cur")


@dataclass(frozen=True, slots=True)
class MaildirEntry:
    path: str
    changed_ns: int
    modified: float
    #: The file name up to the flags (``:2,…``): stable when a client moves or flags it.
    key: str


@dataclass(frozen=True, slots=True)
class MaildirCursor:
    changed_ns: int = 0
    keys_at: tuple[str, ...] = ()

    def encode(self) -> dict[str, object]:
        return {"changed_ns": self.changed_ns, "keys_at": list(self.keys_at)}

    @classmethod
    def decode(cls, data: object) -> MaildirCursor:
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(
                int(data.get("changed_ns", 0)), tuple(str(k) for k in data.get("keys_at", ()))
            )
        except (TypeError, ValueError):
            return cls()


def entry_key(name: str) -> str:
    return name.split(":", 1)[0]


def check_maildir(path: str, where: str) -> Path:
    root = Path(path).expanduser()
    if not all((root / sub).is_dir() for sub in SUBDIRECTORIES):
        raise PermanentError(
            f"{where} maildir = {path!r} is not a Maildir (it needs new/ and cur/ folders)"
        )
    return root


def directory_stamp(root: Path) -> tuple[int, ...]:
    """Changes whenever a file is added to, removed from or renamed in new/ or cur/."""
    stamps = []
    for sub in SUBDIRECTORIES:
        try:
            info = os.stat(root / sub)
            stamps += [info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        except OSError:
            stamps += [0, 0, 0]
    return tuple(stamps)


def scan(root: Path, cursor: MaildirCursor) -> list[MaildirEntry]:
    """The files after ``cursor``, oldest change first (blocking: call off the loop)."""
    after = cursor.changed_ns
    seen_at = set(cursor.keys_at)
    found: list[MaildirEntry] = []
    for sub in SUBDIRECTORIES:
        directory = root / sub
        try:
            entries = os.scandir(directory)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                    changed = info.st_ctime_ns
                    if not entry.is_file(follow_symlinks=False):
                        continue
                except OSError:  # renamed or removed since the listing: seen next time
                    continue
                key = entry_key(entry.name)
                if changed < after or (changed == after and key in seen_at):
                    continue
                found.append(MaildirEntry(entry.path, changed, info.st_mtime, key))
    found.sort(key=lambda e: (e.changed_ns, e.key))
    return found


def advance(cursor: MaildirCursor, batch: list[MaildirEntry]) -> MaildirCursor:
    """The cursor after delivering ``batch`` (a prefix of what :func:`scan` returned)."""
    if not batch:
        return cursor
    newest = batch[-1].changed_ns
    keys = [e.key for e in batch if e.changed_ns == newest]
    if newest == cursor.changed_ns:
        keys = [*cursor.keys_at, *keys]
    return MaildirCursor(newest, tuple(dict.fromkeys(keys)))


def read_file(path: str) -> bytes | None:
    """The file's bytes, or None when it vanished (moved by a client: seen again later)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def dumps(cursor: MaildirCursor) -> str:
    return json.dumps({"maildir": cursor.encode()}, separators=(",", ":"))
