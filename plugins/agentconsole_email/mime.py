"""A message's MIME structure → its text and attachments, bounded, part by part.

The tree is split on its boundaries with ``bytes.find`` over the raw bytes themselves: a
part is a pair of offsets, its headers a small ``compat32`` :class:`Message` (tolerant, no
recursion and no per-boundary regular expression in the standard parser), its body a
``memoryview`` of the raw bytes. Nothing is copied until a part is decoded, and a part is
decoded once, straight into what is kept (an attachment's bytes, a text) — a 20 MB
attachment costs its 20 MB, not several copies of it.

Bounds: :data:`MAX_DEPTH` levels of nesting, :data:`MAX_PARTS` parts, :data:`PARSE_SECONDS`
of wall-clock time. What lies beyond a bound is not read (it stays in the raw bytes, which
are always kept) and a short note says so; no boundary line or part header of an unread
part ends up in the text.

Every part is read in its own guard: one that cannot be read adds a note naming it and
the others are read normally.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email.message import Message
from email.policy import Compat32
from typing import Any

from agentconsole.plugin import Attachment, html_to_text

from .decoding import decode_bytes, decode_transfer, decode_words

#: Parts read from one message; the rest stay in the raw bytes.
MAX_PARTS = 500
#: Nesting of multiparts and attached messages read from one message.
MAX_DEPTH = 30
#: Wall-clock budget for reading one message's parts.
PARSE_SECONDS = 2.0
#: Headers read from one message or part.
MAX_HEADERS = 1000
#: Parts that could not be read named one by one in the note; the others are counted.
NAMED_FAILURES = 3

_ICS_FIELD = re.compile(r"^(SUMMARY|DTSTART|LOCATION|ORGANIZER)[^:\r\n]*:(.*)$", re.MULTILINE)


class _KeepEscapes(Compat32):
    """``compat32``, except that a header holding 8-bit bytes is read as the text it holds
    (the bytes as surrogate escapes, which :func:`.decode_words` reads as UTF-8 or
    Windows-1252, and a boundary matches byte for byte) instead of a ``Header`` that turns
    them into U+FFFD: a file name in raw UTF-8 keeps its letters."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_KEEP_ESCAPES = _KeepEscapes()

#: Parameters of header values seen lately (``Content-Type: text/plain; charset=utf-8``
#: recurs in most mail), as the standard parser reads them; emptied when full.
_PARAMETERS: dict[str, Any] = {}
_PARAMETERS_KEPT = 4096


class Part(Message):
    """A ``compat32`` message whose body stays a view into the raw bytes.

    A multipart (or an attached message) has its children as payload — an empty list when
    they were not read (beyond a bound); a leaf has ``body``."""

    body: memoryview

    def __init__(self) -> None:
        super().__init__(policy=_KEEP_ESCAPES)
        self._content_type: str | None = None

    def get_content_type(self) -> str:
        """The standard answer, read once: a part's headers are all set (by
        :func:`build_tree`) before anything asks for its type."""
        if self._content_type is None:
            self._content_type = super().get_content_type()
        return self._content_type

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        """The standard reading of a header's parameters, remembered by the header's value:
        the same value always reads the same (RFC 2231 and odd quoting included)."""
        value = self.get(header)
        if not isinstance(value, str):
            return super()._get_params_preserve(failobj, header)  # type: ignore[misc]
        params = _PARAMETERS.get(value)
        if params is None:
            params = super()._get_params_preserve(failobj, header)  # type: ignore[misc]
            if len(_PARAMETERS) >= _PARAMETERS_KEPT:
                _PARAMETERS.clear()
            _PARAMETERS[value] = params
        return params


@dataclass(frozen=True, slots=True)
class Span:
    """Where a header block and a body lie in a buffer: ``[head_start, head_end)`` and
    ``[body_start, end)``."""

    head_start: int
    head_end: int
    body_start: int


def split_span(data: bytes, start: int = 0, end: int | None = None, *, top: bool = True) -> Span:
    """The header block and the body of ``data[start:end]``, split at the first empty line
    (and, for a whole message, past an mbox ``From `` separator line)."""
    end = len(data) if end is None else end
    if top and data.startswith(b"From ", start, end):
        newline = data.find(b"\n", start, end)
        if newline > start:
            start = newline + 1
    if data.startswith(b"\n", start, end):
        return Span(start, start, start + 1)
    if data.startswith(b"\r\n", start, end):
        return Span(start, start, start + 2)
    # The first empty line, LF or CRLF; the second search stops where the first found one
    # (a CRLF message need not be scanned to its end for an LF-only empty line).
    crlf = data.find(b"\r\n\r\n", start, end)
    lf = data.find(b"\n\n", start, crlf + 2 if crlf >= 0 else end)
    if lf >= 0:
        return Span(start, lf, lf + 2)
    if crlf >= 0:
        return Span(start, crlf, crlf + 4)
    return Span(start, end, end)


def header_pairs(head: bytes, *, mime_only: bool = False) -> list[tuple[str, str]]:
    """Unfolded (name, value) header pairs as compat32 keeps them (8-bit bytes as
    surrogate escapes), at most :data:`MAX_HEADERS`; with ``mime_only`` only the
    ``Content-*`` ones (all a message's own part needs: its other headers are read once,
    by the caller)."""
    pairs: list[tuple[str, str]] = []
    skipping = False
    for line in head.split(b"\n"):
        line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):
            if pairs and not skipping:
                name, value = pairs[-1]
                pairs[-1] = (name, value + "\n" + line.decode("ascii", "surrogateescape"))
            continue
        skipping = mime_only and line[:8].lower() != b"content-"
        if skipping:
            continue
        raw_name, colon, raw_value = line.partition(b":")
        if colon and raw_name and b" " not in raw_name.strip():
            pairs.append(
                (
                    raw_name.decode("ascii", "replace").strip(),
                    raw_value.decode("ascii", "surrogateescape").strip(),
                )
            )
        if len(pairs) >= MAX_HEADERS:
            break
    return pairs


def split_multipart(
    data: bytes, boundary: bytes, start: int = 0, end: int | None = None
) -> list[tuple[int, int]] | None:
    """The ``(start, end)`` offsets of the parts of ``data[start:end]`` between
    ``--boundary`` delimiter lines (RFC 2046 §5.1.1): preamble and epilogue dropped, a
    missing close delimiter tolerated. None when no delimiter is found."""
    end = len(data) if end is None else end
    delimiter = b"--" + boundary
    size = len(delimiter)
    spans: list[tuple[int, int]] = []
    part_start: int | None = None
    position = start
    while True:
        found = data.find(delimiter, position, end)
        if found < 0:
            break
        position = found + size
        if found > start and data[found - 1] != 0x0A:
            continue  # not at the start of a line
        line_end = data.find(b"\n", position, end)
        line_end = end if line_end < 0 else line_end
        rest = data[position:line_end]
        closing = rest.startswith(b"--")
        if not closing and rest.strip():
            continue  # a longer boundary that merely starts with this one
        if part_start is not None:
            stop = found - 1 if found > start else found
            if stop > part_start and data[stop - 1] == 0x0D:
                stop -= 1
            spans.append((part_start, max(stop, part_start)))
        if closing:
            return spans
        part_start = line_end + 1
        position = part_start
    if part_start is None:
        return None
    if part_start < end:
        spans.append((part_start, end))
    return spans


@dataclass
class Budget:
    """What is left for building one message's MIME tree."""

    notes: list[str]
    deadline: float
    parts: int = 0
    exhausted: bool = False
    too_deep: bool = False

    def spend(self) -> bool:
        """Count one part; False once the part count or the time is used up."""
        if self.exhausted:
            return False
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.notes.append(
                f"more than {MAX_PARTS} parts: only the first were read (all are in the original)"
            )
            self.exhausted = True
        elif time.monotonic() > self.deadline:
            self.notes.append(f"reading the parts took over {PARSE_SECONDS:.0f}s: stopped early")
            self.exhausted = True
        return not self.exhausted

    def nested_too_deeply(self) -> None:
        if not self.too_deep:
            self.too_deep = True
            self.notes.append(
                f"nested deeper than {MAX_DEPTH} levels: the inner parts were not read"
                " (they are in the original)"
            )


def build_tree(
    data: bytes,
    budget: Budget,
    start: int = 0,
    end: int | None = None,
    depth: int = 0,
    *,
    default_type: str = "",
) -> Part:
    """The :class:`Part` tree of ``data[start:end]``, bounded in depth, part count and
    time. A part that cannot be split is skipped with a note; its siblings are read."""
    end = len(data) if end is None else end
    span = split_span(data, start, end, top=depth == 0)
    part = Part()
    if default_type:
        part.set_default_type(default_type)
    for name, value in header_pairs(data[span.head_start : span.head_end], mime_only=depth == 0):
        part.set_raw(name, value)  # as the stdlib parser stores them: no re-folding
    part.body = memoryview(data)[span.body_start : end]
    content_type = part.get_content_type()
    if not (content_type.startswith("multipart/") or content_type == "message/rfc822"):
        return part
    if depth >= MAX_DEPTH:
        budget.nested_too_deeply()
        part.set_payload([])
        return part
    if content_type == "message/rfc822":
        inner: list[Message | str] = []
        if budget.spend():
            inner.append(build_tree(data, budget, span.body_start, end, depth + 1))
        part.set_payload(inner)
        return part
    boundary = part.get_boundary()
    pieces = (
        split_multipart(data, boundary.encode("utf-8", "surrogateescape"), span.body_start, end)
        if boundary
        else None
    )
    if pieces is None:
        budget.notes.append("a multipart without its boundary: read as text")
        return part
    children: list[Message | str] = []
    child_type = "message/rfc822" if content_type == "multipart/digest" else ""
    for piece_start, piece_end in pieces:
        if not budget.spend():
            break
        try:
            children.append(
                build_tree(data, budget, piece_start, piece_end, depth + 1, default_type=child_type)
            )
        except Exception as error:  # one part that cannot be split does not cost the others
            budget.notes.append(f"a part could not be read ({type(error).__name__})")
    part.set_payload(children)
    return part


def safe_filename(name: str, content_type: str, number: int) -> str:
    """A file name suggestion: the last path component, no control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(".")
    if name:
        return name[:200]
    extension = {
        "text/calendar": ".ics",
        "application/ms-tnef": ".dat",
        "message/rfc822": ".eml",
        "text/html": ".html",
        "text/plain": ".txt",
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "application/pdf": ".pdf",
    }.get(content_type, ".bin")
    return f"part-{number}{extension}"


def calendar_summary(text: str) -> str:
    """The what/when/where/organizer lines of an iCalendar invitation ('' if none)."""
    fields: dict[str, str] = {}
    for key, value in _ICS_FIELD.findall(text):
        fields.setdefault(key, value.strip())
    if not fields:
        return ""
    lines = ["Calendar invitation:"]
    for key, label in (
        ("SUMMARY", "What"),
        ("DTSTART", "When"),
        ("LOCATION", "Where"),
        ("ORGANIZER", "Organizer"),
    ):
        if key in fields:
            lines.append(f"  {label}: {fields[key]}")
    return "\n".join(lines)


def is_inline_text(content_type: str) -> bool:
    """Text shown in the body: plain text and other readable text (patches, CSV, enriched),
    not HTML (converted) nor calendars (summarized, kept as a file)."""
    return content_type.startswith("text/") and content_type not in ("text/html", "text/calendar")


def normalize_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _kind(part: Message) -> str:
    try:
        return part.get_content_type()[:60]
    except Exception:
        return "unknown type"


@dataclass
class Walk:
    """One walk over a message's :class:`Part` tree, collecting its texts, attachments
    and calendar summaries."""

    notes: list[str]
    deadline: float
    texts: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    calendars: list[str] = field(default_factory=list)
    parts: int = 0
    stopped: bool = False
    #: "part N (type)" of each part that could not be read.
    failures: list[str] = field(default_factory=list)

    def over_budget(self) -> bool:
        if self.stopped:
            return True
        if time.monotonic() > self.deadline:
            self.notes.append(f"reading the parts took over {PARSE_SECONDS:.0f}s: stopped early")
            self.stopped = True
        return self.stopped

    def payload(self, part: Part) -> bytes:
        """The part's body with its transfer encoding undone."""
        encoding = str(part.get("Content-Transfer-Encoding", "") or "")
        return decode_transfer(part.body, encoding, self.notes)

    def text_of(self, part: Part) -> str:
        return normalize_text(
            decode_bytes(self.payload(part), part.get_content_charset(), self.notes)
        )

    def attach(self, part: Part, content_type: str) -> None:
        try:
            filename = part.get_filename() or ""
        except Exception:
            filename = ""
        data = b"" if content_type == "message/rfc822" else self.payload(part)
        filename = safe_filename(
            decode_words(str(filename)), content_type, len(self.attachments) + 1
        )
        if content_type == "application/ms-tnef" or filename.lower() == "winmail.dat":
            self.notes.append("winmail.dat (Outlook TNEF) kept as an attachment, not decoded")
        if content_type == "text/calendar":
            self.calendars.append(calendar_summary(decode_bytes(data, part.get_content_charset())))
        self.attachments.append(Attachment(filename, content_type, data))

    def walk(self, part: Part, depth: int = 0) -> None:
        """Read ``part`` and what it contains; a part that fails is noted and skipped."""
        if self.over_budget():
            return
        self.parts += 1
        number = self.parts
        try:
            self._read(part, depth)
        except Exception:
            self.failures.append(f"part {number} ({_kind(part)})")

    def _read(self, part: Part, depth: int) -> None:
        content_type = part.get_content_type()
        if part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Part)]
            if content_type == "message/rfc822":
                self.forwarded(children, depth)
            elif content_type == "multipart/alternative":
                self.alternative(children, depth)
            else:
                for child in children:
                    self.walk(child, depth + 1)
            return
        if content_type.startswith("multipart/"):  # its boundary was missing: show it as text
            self.texts.append(self.text_of(part))
            return
        disposition = str(part.get("Content-Disposition", "") or "").split(";")[0].strip().lower()
        # The whole message as one part is its text even when it calls itself an attachment.
        is_attachment = disposition == "attachment" and depth > 0
        if is_inline_text(content_type) and not is_attachment:
            self.texts.append(self.text_of(part))
        elif content_type == "text/html" and not is_attachment:
            self.texts.append(html_to_text(self.text_of(part)))
        else:
            self.attach(part, content_type)

    def alternative(self, children: list[Part], depth: int) -> None:
        """multipart/alternative: the plain text if it says something, else the richest
        other alternative; calendars and other non-text alternatives are kept too."""
        kinds = [_kind(child) for child in children]
        chosen: Part | None = None
        for wanted in ("text/plain", "multipart/related", "multipart/mixed", "text/html"):
            for child, kind in zip(children, kinds, strict=True):
                if kind != wanted:
                    continue
                if wanted == "text/plain":
                    try:
                        if not self.text_of(child).strip():
                            continue
                    except Exception:
                        continue  # an unreadable plain text: the next alternative
                chosen = child
                break
            if chosen is not None:
                break
        for child, kind in zip(children, kinds, strict=True):
            if child is chosen or not kind.startswith(("text/plain", "text/html", "multipart/")):
                self.walk(child, depth + 1)

    def forwarded(self, children: list[Part], depth: int) -> None:
        for inner in children:
            lines = ["---------- Forwarded message ----------"]
            for name in ("From", "Date", "Subject", "To"):
                value = inner.get(name)
                if value:
                    lines.append(f"{name}: {decode_words(str(value))}")
            self.texts.append("\n".join(lines))
            self.walk(inner, depth + 1)

    def failure_note(self) -> str | None:
        """One note for every part that could not be read (None when all were)."""
        if not self.failures:
            return None
        named = ", ".join(self.failures[:NAMED_FAILURES])
        more = len(self.failures) - NAMED_FAILURES
        if more > 0:
            named += f" and {more} more"
        verb = "was" if len(self.failures) == 1 else "were"
        return f"{named} could not be read and {verb} left out (the original has it)"


def read_body(data: bytes, notes: list[str]) -> tuple[str, list[Attachment]]:
    """The text (its readable parts joined, or else its calendar summaries) and the
    attachments of the whole message ``data``; what cannot be read is noted."""
    deadline = time.monotonic() + PARSE_SECONDS
    tree = build_tree(data, Budget(notes, deadline))
    walk = Walk(notes, deadline)
    walk.walk(tree)
    failed = walk.failure_note()
    if failed:
        notes.append(failed)
    texts = [text for text in walk.texts if text.strip()]
    if not texts:
        texts = [summary for summary in walk.calendars if summary]
    return "\n\n".join(texts), walk.attachments
