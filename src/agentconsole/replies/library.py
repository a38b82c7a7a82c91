"""Saved replies as plain files: Markdown with a small TOML front matter between ``+++`` lines.

```
+++
title = "Outage: we are on it"
keywords = ["outage", "down"]
channels = ["email", "chat"]   # channel kinds or names where it is offered (default: all)
tags = ["+outage"]             # applied when the reply is sent
status = "pending"             # the conversation's status after sending
+++
Hi {customer.first_name}, …
```

Files are read from the agent's folder and from shared folders (a team keeps them in git).
A file that cannot be read is listed with its error; the others still work. The name of a
reply is its file name without ``.md``; the first folder that has a name wins, so an agent
can override a team reply by copying it.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import NotFoundError
from ..models import DraftMacro
from .template import Template, parse

FRONT_MATTER = "+++"
#: Statuses a reply may leave its conversation in (snoozing needs a time: not a macro).
AFTER_STATUSES = ("open", "pending", "closed")
KEYS = ("title", "keywords", "channels", "tags", "status")
#: Lines after the standard signature delimiter are left out where signatures do not belong.
SIGNATURE_DELIMITER = "-- "
#: Channel kinds whose replies carry no signature block.
UNSIGNED_KINDS = frozenset({"chat"})


@dataclass(frozen=True, slots=True)
class SavedReply:
    name: str
    path: Path
    title: str
    body: str
    template: Template
    keywords: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    #: Tag changes applied on send: ``+tag`` / ``tag`` add, ``-tag`` removes.
    tags: tuple[str, ...] = ()
    status: str | None = None

    def offered_on(self, channel: str, kind: str) -> bool:
        """Whether the reply is offered on a conversation of ``channel`` (of ``kind``)."""
        return not self.channels or channel in self.channels or kind in self.channels

    def template_for(self, kind: str) -> Template:
        """The template as it is sent on a channel of ``kind``: chat replies drop the
        signature block (everything after a ``-- `` line)."""
        if kind not in UNSIGNED_KINDS:
            return self.template
        lines = self.body.split("\n")
        if SIGNATURE_DELIMITER not in lines:
            return self.template
        return parse("\n".join(lines[: lines.index(SIGNATURE_DELIMITER)]).rstrip("\n") + "\n")

    @property
    def macro(self) -> DraftMacro:
        """What inserting this reply into a draft commits it to on send (its tags, status)."""
        return DraftMacro(self.name, self.tags, self.status)

    @property
    def tag_changes(self) -> tuple[list[str], list[str]]:
        """(tags to add, tags to remove)."""
        return self.macro.tag_changes


@dataclass(frozen=True, slots=True)
class ReplyProblem:
    """A file that could not be used, and why (shown in the picker and ``replies list``)."""

    path: Path
    message: str


@dataclass(frozen=True, slots=True)
class ReplyLibrary:
    replies: tuple[SavedReply, ...]
    problems: tuple[ReplyProblem, ...] = ()

    def get(self, name: str) -> SavedReply:
        """The reply called ``name``. Raises :class:`NotFoundError` with the closest name."""
        for reply in self.replies:
            if reply.name == name:
                return reply
        for problem in self.problems:
            if problem.path.stem == name:
                raise NotFoundError(f"saved reply {name!r} cannot be used: {problem.message}")
        close = difflib.get_close_matches(name, [r.name for r in self.replies], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (`agentconsole replies` lists them)"
        raise NotFoundError(f"no saved reply {name!r}{hint}")

    def offered_on(self, channel: str, kind: str) -> list[SavedReply]:
        return [r for r in self.replies if r.offered_on(channel, kind)]


def load_library(folders: Iterable[Path]) -> ReplyLibrary:
    """Every ``*.md`` file of ``folders`` (missing folders are skipped), sorted by title.
    A file unchanged since an earlier call (same modification time and size) is not read
    again."""
    replies: dict[str, SavedReply] = {}
    problems: list[ReplyProblem] = []
    for folder in folders:
        try:
            paths = sorted(folder.expanduser().glob("*.md"))
        except OSError as error:
            problems.append(ReplyProblem(folder, f"cannot list the folder: {error.strerror}"))
            continue
        for path in paths:
            if path.stem in replies:
                continue
            read = _read_unless_unchanged(path)
            if isinstance(read, ReplyProblem):
                problems.append(read)
            else:
                replies[path.stem] = read
    ordered = sorted(replies.values(), key=lambda r: (r.title.casefold(), r.name))
    return ReplyLibrary(tuple(ordered), tuple(problems))


#: Files already parsed, by path, with the (mtime, size) they had: the picker loads the
#: library each time it opens, and only files changed since are read and parsed again.
_parsed: dict[Path, tuple[tuple[int, int], SavedReply | ReplyProblem]] = {}


def _read_unless_unchanged(path: Path) -> SavedReply | ReplyProblem:
    try:
        status = path.stat()
    except OSError as error:
        return ReplyProblem(path, f"cannot read it: {error.strerror}")
    version = (status.st_mtime_ns, status.st_size)
    known = _parsed.get(path)
    if known is not None and known[0] == version:
        return known[1]
    result: SavedReply | ReplyProblem
    try:
        result = read_reply(path)
    except ReplyFileError as error:
        result = ReplyProblem(path, str(error))
    _parsed[path] = (version, result)
    return result


class ReplyFileError(ValueError):
    """A saved-reply file is unreadable; the message says what to fix."""


def read_reply(path: Path) -> SavedReply:
    """Parse one saved-reply file. Raises :class:`ReplyFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ReplyFileError(f"cannot read it: {error}") from error
    return parse_reply(path, text)


def parse_reply(path: Path, text: str) -> SavedReply:
    text = text.replace("\r\n", "\n")
    meta: dict[str, object] = {}
    body = text
    first, _, rest = text.partition("\n")
    if first.strip() == FRONT_MATTER:
        header, found, after = rest.partition(f"\n{FRONT_MATTER}")
        if not found and rest.startswith(FRONT_MATTER):
            header, after, found = "", rest[len(FRONT_MATTER) :], FRONT_MATTER
        if not found:
            raise ReplyFileError(f"the front matter opened with {FRONT_MATTER} is never closed")
        try:
            meta = tomllib.loads(header)
        except tomllib.TOMLDecodeError as error:
            raise ReplyFileError(f"front matter: {error}") from error
        body = after.partition("\n")[2]
    for key in meta:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(KEYS)})"
            raise ReplyFileError(f"unknown key {key!r} in the front matter{hint}")
    title = meta.get("title", path.stem)
    if not isinstance(title, str) or not title.strip():
        raise ReplyFileError("title must be a non-empty string")
    status = meta.get("status")
    if status is not None and status not in AFTER_STATUSES:
        raise ReplyFileError(f"status must be one of {', '.join(AFTER_STATUSES)}, not {status!r}")
    if not body.strip():
        raise ReplyFileError("the reply has no text after its front matter")
    return SavedReply(
        name=path.stem,
        path=path,
        title=title.strip(),
        body=body,
        template=parse(body),
        keywords=_strings(meta, "keywords"),
        channels=_strings(meta, "channels"),
        tags=_strings(meta, "tags"),
        status=status if isinstance(status, str) else None,
    )


def _strings(meta: dict[str, object], key: str) -> tuple[str, ...]:
    value = meta.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ReplyFileError(f'{key} must be a list of strings, e.g. {key} = ["a", "b"]')
    return tuple(v.strip() for v in value if v.strip())
