"""Saving attachments: the file name from a message is only ever a suggestion.

A customer's file name never chooses a path: :func:`suggested_name` keeps only a harmless
base name, and :func:`save` writes where the agent confirmed, never over an existing file
unless asked.
"""

from __future__ import annotations

import mimetypes
import os
import re
import unicodedata
from pathlib import Path

from . import paths
from .errors import ConflictError, UsageError
from .plugin import Attachment

#: Largest file an agent can attach to a reply (most mail servers refuse more).
MAX_ATTACH_BYTES = 25 * 1024 * 1024

MAX_NAME = 120
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|\u202a-\u202e\u2066-\u2069]")
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def suggested_name(filename: str, fallback: str = "attachment") -> str:
    """A safe base name for ``filename``: no directories, no control or path characters,
    no leading dots (hidden files, ``..``), not a device name, at most 120 characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    stem, dot, extension = name.rpartition(".")
    if stem.lower() in _RESERVED or name.lower() in _RESERVED:
        name = "_" + name
    if len(name) > MAX_NAME:
        keep = extension[:16] if dot else ""
        name = name[: MAX_NAME - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name or fallback


def find_download_dir() -> Path | None:
    """The agent's download folder: the XDG one (``$XDG_DOWNLOAD_DIR``, else
    ``user-dirs.dirs`` as ``xdg-user-dir DOWNLOAD`` reads it), else ``~/Downloads`` — the
    first of these that exists; None when none does."""
    for candidate in (paths.user_dir("DOWNLOAD"), Path.home() / "Downloads"):
        # xdg-user-dir answers $HOME itself for an unset folder: that is not a download folder.
        if candidate is not None and candidate.is_dir() and candidate != Path.home():
            return candidate
    return None


def download_dir() -> Path:
    """Where a saved attachment goes by default: :func:`find_download_dir`, else the
    current folder (as mutt and aerc save)."""
    return find_download_dir() or Path.cwd()


def save(data: bytes, target: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``target`` (the agent's choice). Refuses to replace an existing
    file unless ``overwrite``; raises :class:`ConflictError` / :class:`UsageError`."""
    path = Path(target).expanduser()
    if path.is_dir():
        raise UsageError(f"{path} is a folder: give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"folder {path.parent} does not exist")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ConflictError(f"{path} already exists: choose another name") from None
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return path


def read_for_sending(path: str | Path) -> Attachment:
    """A file the agent chose, as an attachment (its base name, a guessed content type)."""
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size
        if not file.is_file():
            raise UsageError(f"{file} is not a file")
        if size > MAX_ATTACH_BYTES:
            raise UsageError(
                f"{file} is {size // (1024 * 1024)} MB; attachments are limited to "
                f"{MAX_ATTACH_BYTES // (1024 * 1024)} MB"
            )
        data = file.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot attach {file}: {error.strerror}") from None
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return Attachment(file.name, content_type, data)
