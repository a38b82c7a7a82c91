"""Raw RFC 822 bytes → :class:`InboundMessage`, cheaply, and never raising.

Real mail breaks the standard library's rich parser (``policy.default`` raises reading
``To: unlisted-recipients:;``, on unknown charsets and transfer encodings, recurses on deep
nesting, crawls on huge part counts) and it manages ≈ 440 messages/s per core. So:

* headers are split and decoded here (RFC 2047 words, 8-bit bytes as UTF-8 or
  Windows-1252), only the few the queue and threading need, each in its own guard: a header
  that cannot be read adds a note naming it ("the To header could not be read") and the
  others are read normally;
* the body is read by :mod:`.mime`: split on its boundaries over the raw bytes, bounded in
  depth, part count and time, each part in its own guard, a large part decoded once;
* the text is kept whole, however long (the screen folds it; the raw bytes are kept too);
* anything unexpected yields the raw bytes, best-effort headers and a ``parse_note``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import TypeVar

from agentconsole.plugin import Attachment, Author, Identity, InboundMessage

from . import identity, threads
from .addresses import Pair, read_address_header
from .decoding import decode_bytes, decode_words, header_text
from .mime import MAX_DEPTH, MAX_PARTS, read_body, split_span

__all__ = [
    "MAX_DEPTH",
    "MAX_MESSAGE_BYTES",
    "MAX_PARTS",
    "ParseSettings",
    "parse_message",
    "parse_safely",
]

#: Messages larger than this keep their raw bytes but only their headers are read.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

#: Headers added in transit: left out of the synthetic id so that the same message
#: delivered through IMAP, a Maildir or a pipe gets the same id.
_TRACE_HEADERS = frozenset(
    {
        "received",
        "return-path",
        "delivered-to",
        "x-original-to",
        "x-delivered-to",
        "status",
        "x-status",
        "x-keywords",
        "x-uid",
        "content-length",
        "lines",
        "x-envelope-from",
        "x-envelope-to",
        "x-spam-status",
        "x-spam-score",
        "x-spam-flag",
        "x-spam-level",
        "x-spam-checker-version",
        "authentication-results",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "received-spf",
    }
)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ParseSettings:
    """What the parser needs to know about our side of the mailbox."""

    #: Our own addresses (lower case): mail From one of them is ``from_agent``.
    own_addresses: frozenset[str] = frozenset()


# -- headers -------------------------------------------------------------------------------


def split_message(raw: bytes, *, top: bool = True) -> tuple[bytes, memoryview]:
    """(header block, body) split at the first empty line (and, for a whole message, past
    an mbox ``From `` separator line). The body is a view into ``raw``: a 20 MB message is
    not copied to be split."""
    span = split_span(raw, top=top)
    return raw[span.head_start : span.head_end], memoryview(raw)[span.body_start :]


#: The headers :func:`parse_message` reads (lower case, as bytes); the others are not
#: decoded.
_READ_HEADERS = frozenset(
    name.encode("ascii")
    for name in (
        "subject",
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "content-type",
        *threads.AUTOMATION_HEADERS,
    )
)


_ASCII_SPACE = bytes(c for c in range(128) if chr(c).isspace())


def header_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """Every header field of ``head`` as ``(name, unfolded raw value)``, in order; lines that
    are not header fields (garbage before the body) and their continuations are left out."""
    fields: list[tuple[bytes, bytes]] = []
    name: bytes | None = None
    value: list[bytes] = []
    for line in head.split(b"\n"):
        if line[-1:] == b"\r":
            line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):
            if name is not None:
                value.append(line)
            continue
        if name is not None:
            fields.append((name, value[0] if len(value) == 1 else b"".join(value)))
        name, colon, rest = line.partition(b":")
        if not colon or not name or b" " in name.strip():
            name = None  # not a header line (garbage before the body): keep nothing
            continue
        value = [rest]
    if name is not None:
        fields.append((name, value[0] if len(value) == 1 else b"".join(value)))
    return fields


def _field_name(name: bytes) -> str:
    return name.decode("ascii", "replace").strip().lower()


def read_headers(head: bytes) -> tuple[dict[str, list[str]], list[tuple[bytes, bytes]]]:
    """Header name (lower case) → values (unfolded, not RFC 2047-decoded) of the headers
    this module reads, plus every header field (:func:`header_fields`)."""
    fields = header_fields(head)
    headers: dict[str, list[str]] = {}
    for name, value in fields:
        # Compared as bytes (stripped of what str.strip strips in ASCII): a name with
        # 8-bit bytes is none of those read.
        key = name.strip(_ASCII_SPACE).lower()
        if key in _READ_HEADERS:
            headers.setdefault(key.decode("ascii"), []).append(header_text(value).strip())
    return headers, fields


def kept_headers(fields: list[tuple[bytes, bytes]]) -> list[bytes]:
    """The header lines that are not trace headers, as the synthetic id hashes them."""
    return [
        name + b":" + value for name, value in fields if _field_name(name) not in _TRACE_HEADERS
    ]


@dataclass(frozen=True, slots=True)
class _Fields:
    """The headers of one message, each read in its own guard: a header that cannot be
    read adds a note naming it and yields a default; the others are read normally."""

    headers: dict[str, list[str]]
    notes: list[str]

    def first(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    def read(self, label: str, reader: Callable[[], _T], default: _T, why: str = "") -> _T:
        """``reader()``, or ``default`` with the note "the {label} header could not be
        read{why}" when it raises."""
        try:
            return reader()
        except Exception:
            self.notes.append(f"the {label} header could not be read{why}")
            return default

    def addresses(self, label: str, *, every: bool = True) -> list[Pair]:
        """The addresses of the header ``label`` (of its first occurrence only unless
        ``every``)."""
        values = self.headers.get(label.lower(), [])
        return read_address_header(label, values if every else values[:1], self.notes)


def _content_type(value: str | None) -> tuple[str, Message]:
    holder = Message()
    if value:
        holder["Content-Type"] = value
    return holder.get_content_type(), holder


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: ``Tue, 1 Dec 2026 21:20:17 +0100``, the form nearly every mailer writes.
_PLAIN_DATE = re.compile(
    r"\s*(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) "
    rf"({'|'.join(_MONTHS)}) ([0-9]{{4}}) ([0-9]{{2}}):([0-9]{{2}}):([0-9]{{2}}) "
    r"([+-])([0-9]{2})([0-9]{2})\s*"
)


def _plain_date(found: re.Match[str]) -> datetime:
    """The time of a :data:`_PLAIN_DATE` match, as ``parsedate_to_datetime`` reads it
    (``-0000``, "zone unknown", is UTC here). Raises ValueError on an impossible one."""
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = found.groups()
    offset = int(zone_hours) * 3600 + int(zone_minutes) * 60
    zone = UTC if offset == 0 else timezone(timedelta(seconds=-offset if sign == "-" else offset))
    return datetime(
        int(year),
        _MONTHS.index(month) + 1,
        int(day),
        int(hour),
        int(minute),
        int(second),
        tzinfo=zone,
    )


def _date(value: str) -> datetime | None:
    """The Date header's time; None when it has none. Raises on an unreadable one."""
    if not value:
        return None
    plain = _PLAIN_DATE.fullmatch(value)
    parsed = _plain_date(plain) if plain else parsedate_to_datetime(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not 1970 <= parsed.year <= 9000:
        raise ValueError(f"year {parsed.year} out of range")
    return parsed


# -- the message ---------------------------------------------------------------------------


def parse_message(
    raw: bytes,
    settings: ParseSettings = ParseSettings(),
    *,
    fallback_date: datetime | None = None,
    keep_raw: bool = True,
) -> InboundMessage:
    """The normalized message for ``raw``. Never raises: whatever cannot be read is
    explained in ``parse_note`` and the raw bytes are kept (unless ``keep_raw`` is false,
    for callers that attach them themselves)."""
    notes: list[str] = []
    head, body = split_message(raw)
    headers, header_lines = read_headers(head)
    fields = _Fields(headers, notes)
    subject = fields.read("Subject", lambda: decode_words(fields.first("subject")), "")
    from_pairs = fields.addresses("From", every=False)
    from_name, from_address = from_pairs[0] if from_pairs else ("", "")
    if not from_pairs:
        sender = fields.addresses("Sender", every=False) or fields.addresses(
            "Return-Path", every=False
        )
        if sender:
            from_name, from_address = sender[0]
        else:
            notes.append("no sender address")
    content_type = fields.read(
        "Content-Type",
        lambda: _content_type(fields.first("content-type") or None)[0],
        "text/plain",
        ": the body is read as plain text",
    )
    text = ""
    attachments: list[Attachment] = []
    if len(raw) > MAX_MESSAGE_BYTES:
        notes.append(
            f"larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB: only the headers were read"
        )
    else:
        try:
            text, attachments = read_body(raw, notes)
        except Exception as error:
            notes.append(f"body unreadable ({type(error).__name__}: {str(error)[:200]})")
    if not header_lines:
        notes.append("no mail headers found: the bytes are shown as text")
        text = text or decode_bytes(raw, None)
    reply_to = fields.addresses("Reply-To")
    own = from_address in settings.own_addresses
    identities: tuple[Identity, ...]
    if len(reply_to) == 1 and not own and reply_to[0][1] not in settings.own_addresses:
        author_name = reply_to[0][0] or from_name
        identities = (Identity("email", reply_to[0][1]),)
    else:
        author_name = from_name
        identities = (Identity("email", from_address),) if from_address else ()
    forward = threads.is_forward(subject)
    refs: tuple[str, ...] = ()
    if not forward:
        refs = fields.read(
            "References or In-Reply-To",
            lambda: threads.references(
                fields.first("in-reply-to"), " ".join(headers.get("references", ()))
            ),
            (),
        )
    message_id = fields.read(
        "Message-ID", lambda: threads.message_id(fields.first("message-id")), None
    )
    if message_id is None and fields.first("message-id").strip():
        notes.append("the Message-ID header could not be read: an id was made from the content")
    digest = identity.content_digest(raw)
    external_id = message_id or identity.synthetic_id(
        kept_headers(header_lines), bytes(body), digest
    )
    sent_at = fields.read(
        "Date",
        lambda: _date(fields.first("date")),
        None,
        ": the time it arrived is shown instead" if fallback_date else "",
    )
    author_addresses = {identity.address for identity in identities} | {from_address}
    participants = tuple(
        Identity("email", address)
        for address in dict.fromkeys(
            address for label in ("To", "Cc") for _, address in fields.addresses(label)
        )
        if address not in settings.own_addresses and address not in author_addresses
    )
    automated = fields.read(
        "Auto-Submitted",
        lambda: threads.is_automated(headers, content_type, from_address),
        False,
        " (nor the other auto-reply headers)",
    )
    return InboundMessage(
        external_id=external_id,
        author=Author(author_name or from_address or "(unknown sender)", identities),
        body=text,
        sent_at=sent_at or fallback_date or datetime.now(UTC),
        subject=subject,
        references=refs,
        attachments=tuple(attachments),
        raw=raw if keep_raw else None,
        parse_note="; ".join(dict.fromkeys(notes)) or None,
        automated=automated,
        from_agent=own,
        conversation_token=None if forward else threads.conversation_token(subject),
        participants=participants,
        content_digest=digest,
    )


def parse_safely(
    raw: bytes,
    settings: ParseSettings = ParseSettings(),
    *,
    fallback_date: datetime | None = None,
    keep_raw: bool = True,
) -> InboundMessage:
    """:func:`parse_message`, with a last line of defence: on any error the message is
    still returned, raw, with a note."""
    try:
        return parse_message(raw, settings, fallback_date=fallback_date, keep_raw=keep_raw)
    except Exception as error:
        digest = hashlib.sha256(raw).hexdigest()[:40]
        found = re.search(rb"(?im)^message-id:\s*(<[^<>\s]+>)", raw[:65536])
        external_id = (
            found.group(1).decode("ascii", "replace")
            if found
            else f"<{digest}@{threads.SYNTHETIC_DOMAIN}>"
        )
        return InboundMessage(
            external_id=external_id,
            author=Author("(unknown sender)", ()),
            body="",
            sent_at=fallback_date or datetime.now(UTC),
            raw=raw,
            parse_note=f"could not be read ({type(error).__name__}: {str(error)[:200]}); "
            "the original is kept",
            content_digest=identity.content_digest(raw),
        )
