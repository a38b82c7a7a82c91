"""Raw RFC 822 bytes → :class:`InboundMessage`, cheaply, and never raising.

Real mail breaks the standard library's rich parser (``policy.default`` raises reading
``To: unlisted-recipients:;``, on unknown charsets and transfer encodings, recurses on deep
nesting, crawls on huge part counts) and it manages ≈ 440 messages/s per core. So:

* headers are split and decoded here (RFC 2047 words, 8-bit bytes as UTF-8 or
  Windows-1252), only the few the queue and threading need;
* a single-part body is decoded directly (transfer encoding, then charset);
* a multipart body is split on its boundaries with ``bytes.find`` into a tree of
  ``compat32`` messages (tolerant, and no per-boundary regular expression nor recursion in
  the standard parser), bounded in depth, part count and time;
* anything unexpected yields the raw bytes, best-effort headers and a ``parse_note``.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from agentconsole.plugin import Attachment, Author, Identity, InboundMessage, html_to_text

from . import identity, threads

#: Messages larger than this keep their raw bytes but only their headers are read.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: Parts read from one message; the rest stay in the raw bytes.
MAX_PARTS = 500
#: Nesting of multiparts and attached messages read from one message.
MAX_DEPTH = 30
#: Text kept as the body (search and the thread view); the raw message is kept whole.
MAX_BODY_CHARS = 1_000_000
#: Wall-clock budget for walking one message's parts.
PARSE_SECONDS = 2.0
#: Headers read from one message.
MAX_HEADERS = 1000

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
_TEXT_ENCODINGS = ("", "7bit", "8bit", "binary")
_WHITESPACE = re.compile(r"\s+")
_ICS_FIELD = re.compile(r"^(SUMMARY|DTSTART|LOCATION|ORGANIZER)[^:\r\n]*:(.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ParseSettings:
    """What the parser needs to know about our side of the mailbox."""

    #: Our own addresses (lower case): mail From one of them is ``from_agent``.
    own_addresses: frozenset[str] = frozenset()


# -- small decoders ------------------------------------------------------------------------


def decode_bytes(data: bytes, charset: str | None, notes: list[str] | None = None) -> str:
    """Text from bytes in the declared charset; an unknown or wrong charset falls back to
    UTF-8, then Windows-1252, and says so in ``notes``."""
    name = (charset or "").strip().strip("\"'").lower()
    if name and name not in ("us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        try:
            return data.decode(name)
        except LookupError:
            if notes is not None:
                notes.append(f"unknown charset {name[:40]!r}, read as UTF-8")
        except UnicodeDecodeError:
            if notes is not None and name not in ("utf-8", "utf8"):
                notes.append(f"text is not valid {name[:40]}, read as UTF-8")
        except Exception:  # codecs that are not text codecs raise other errors
            if notes is not None:
                notes.append(f"unusable charset {name[:40]!r}, read as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_text(value: bytes) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:  # 8-bit header (RFC 6532, or a mailer that did not care)
        return decode_bytes(value, None)


def decode_words(value: str) -> str:
    """A header value with RFC 2047 encoded words decoded and whitespace collapsed."""
    if "=?" not in value:
        return _WHITESPACE.sub(" ", value).strip()
    try:
        chunks = decode_header(value)
    except Exception:
        return _WHITESPACE.sub(" ", value).strip()
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            try:
                out.append(chunk.decode("raw-unicode-escape"))
            except UnicodeDecodeError:
                out.append(chunk.decode("latin-1"))
        else:
            out.append(decode_bytes(chunk, charset))
    return _WHITESPACE.sub(" ", "".join(out)).strip()


def decode_transfer(payload: bytes, encoding: str, notes: list[str]) -> bytes:
    """Undo a Content-Transfer-Encoding; an unknown one leaves the bytes as they are."""
    encoding = encoding.strip().lower()
    if encoding in _TEXT_ENCODINGS:
        return payload
    try:
        if encoding == "base64":
            return binascii.a2b_base64(payload)
        if encoding == "quoted-printable":
            return binascii.a2b_qp(payload)
        if encoding in ("x-uuencode", "uuencode", "x-uue", "uue"):
            lines = payload.splitlines()
            out = bytearray()
            for line in lines:
                if line.startswith((b"begin ", b"end")) or not line.strip():
                    continue
                out += binascii.a2b_uu(line)
            return bytes(out)
    except (binascii.Error, ValueError):
        if encoding == "base64":
            cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
            try:
                return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))
            except (binascii.Error, ValueError):
                pass
        notes.append(f"damaged {encoding} content, shown undecoded")
        return payload
    notes.append(f"unknown transfer encoding {encoding[:40]!r}, shown undecoded")
    return payload


def _content_type(value: str | None) -> tuple[str, Message]:
    holder = Message()
    if value:
        holder["Content-Type"] = value
    return holder.get_content_type(), holder


# -- headers -------------------------------------------------------------------------------


def split_message(raw: bytes, *, top: bool = True) -> tuple[bytes, bytes]:
    """(header block, body) split at the first empty line (and, for a whole message, past
    an mbox ``From `` separator line)."""
    if top and raw.startswith(b"From ") and raw.find(b"\n") > 0:
        raw = raw[raw.find(b"\n") + 1 :]
    if raw.startswith((b"\n", b"\r\n")):
        return b"", raw.lstrip(b"\r")[1:]
    ends = [(i, i + n) for i, n in ((raw.find(b"\n\n"), 2), (raw.find(b"\r\n\r\n"), 4)) if i >= 0]
    if not ends:
        return raw, b""
    start, stop = min(ends)
    return raw[:start], raw[stop:]


def read_headers(head: bytes) -> tuple[dict[str, list[str]], list[bytes]]:
    """Header name (lower case) → raw values (unfolded, not RFC 2047-decoded), plus the
    header lines that are not trace headers (for the synthetic id)."""
    headers: dict[str, list[str]] = {}
    kept: list[bytes] = []
    name: bytes | None = None
    value: list[bytes] = []

    def finish() -> None:
        if name is None:
            return
        key = name.decode("ascii", "replace").strip().lower()
        if len(headers) < MAX_HEADERS or key in headers:
            headers.setdefault(key, []).append(_header_text(b"".join(value)).strip())
        if key not in _TRACE_HEADERS:
            kept.append(name + b":" + b"".join(value))

    for line in head.split(b"\n"):
        line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):
            if name is not None:
                value.append(line)
            continue
        finish()
        name, colon, rest = line.partition(b":")
        if not colon or not name or b" " in name.strip():
            name = None  # not a header line (garbage before the body): keep nothing
            continue
        value = [rest]
    finish()
    return headers, kept


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _addresses(value: str) -> list[tuple[str, str]]:
    """(decoded name, lower-case address) pairs; tolerant of group syntax and garbage."""
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = [parseaddr(value)]
    out = []
    for name, address in pairs:
        address = address.strip().strip("<>").strip()
        if "@" not in address or any(c.isspace() for c in address):
            continue
        out.append((decode_words(name), address.lower()))
    return out


def _date(value: str, fallback: datetime | None) -> datetime:
    if value:
        try:
            parsed = parsedate_to_datetime(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            if 1970 <= parsed.year <= 9000:
                return parsed
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return fallback or datetime.now(UTC)


# -- bodies --------------------------------------------------------------------------------


def _safe_filename(name: str, content_type: str, number: int) -> str:
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


def _calendar_summary(text: str) -> str:
    fields = {}
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


def _is_inline_text(content_type: str) -> bool:
    """Text shown in the body: plain text and other readable text (patches, CSV, enriched),
    not HTML (converted) nor calendars (summarized, kept as a file)."""
    return content_type.startswith("text/") and content_type not in ("text/html", "text/calendar")


def _normalize_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class _Walk:
    """State of one walk over a message's MIME tree."""

    notes: list[str]
    deadline: float
    texts: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    calendars: list[str] = field(default_factory=list)
    parts: int = 0
    stopped: bool = False

    def over_budget(self) -> bool:
        if self.stopped:
            return True
        if time.monotonic() > self.deadline:
            self.notes.append(f"reading the parts took over {PARSE_SECONDS:.0f}s: stopped early")
            self.stopped = True
        return self.stopped

    def payload(self, part: Message) -> bytes:
        data = part.get_payload(decode=True)
        encoding = str(part.get("Content-Transfer-Encoding", "") or "").strip().lower()
        if encoding and encoding not in (
            *_TEXT_ENCODINGS,
            "base64",
            "quoted-printable",
            "x-uuencode",
            "uuencode",
            "x-uue",
            "uue",
        ):
            self.notes.append(f"unknown transfer encoding {encoding[:40]!r}, shown undecoded")
        if isinstance(data, bytes):
            return data
        raw = part.get_payload()
        if isinstance(raw, str):
            return raw.encode("ascii", "surrogateescape")
        return b""

    def text_of(self, part: Message) -> str:
        return _normalize_text(
            decode_bytes(self.payload(part), part.get_content_charset(), self.notes)
        )

    def attach(self, part: Message, content_type: str) -> None:
        try:
            filename = part.get_filename() or ""
        except Exception:
            filename = ""
        data = self.payload(part)
        if content_type == "message/rfc822":
            data = b""
        filename = _safe_filename(
            decode_words(str(filename)), content_type, len(self.attachments) + 1
        )
        if content_type == "application/ms-tnef" or filename.lower() == "winmail.dat":
            self.notes.append("winmail.dat (Outlook TNEF) kept as an attachment, not decoded")
        if content_type == "text/calendar":
            self.calendars.append(_calendar_summary(decode_bytes(data, part.get_content_charset())))
        self.attachments.append(Attachment(filename, content_type, data))

    def walk(self, part: Message, depth: int) -> None:
        if self.over_budget():
            return
        self.parts += 1
        content_type = part.get_content_type()
        if part.is_multipart():
            children = part.get_payload()
            if content_type == "message/rfc822":
                self.forwarded(children, depth)
            elif content_type == "multipart/alternative":
                self.alternative(children, depth)
            elif content_type == "message/delivery-status":
                self.texts.append(
                    "\n".join(f"{k}: {v}" for child in children for k, v in child.items())
                )
            else:
                for child in children:
                    if isinstance(child, Message):
                        self.walk(child, depth + 1)
            return
        if content_type.startswith("multipart/"):  # its boundary was missing: show it as text
            self.texts.append(self.text_of(part))
            return
        disposition = str(part.get("Content-Disposition", "") or "").split(";")[0].strip().lower()
        is_attachment = disposition == "attachment"
        if _is_inline_text(content_type) and not is_attachment:
            self.texts.append(self.text_of(part))
        elif content_type == "text/html" and not is_attachment:
            self.texts.append(html_to_text(self.text_of(part)))
        else:
            self.attach(part, content_type)

    def alternative(self, children: list[Message], depth: int) -> None:
        """multipart/alternative: the plain text if it says something, else the richest
        other alternative; calendars and other non-text alternatives are kept too."""
        kinds = [
            child.get_content_type() if isinstance(child, Message) else "" for child in children
        ]
        chosen: Message | None = None
        for wanted in ("text/plain", "multipart/related", "multipart/mixed", "text/html"):
            for child, kind in zip(children, kinds, strict=True):
                if kind == wanted:
                    if wanted == "text/plain" and not self.text_of(child).strip():
                        continue
                    chosen = child
                    break
            if chosen is not None:
                break
        for child, kind in zip(children, kinds, strict=True):
            if (
                child is chosen
                or isinstance(child, Message)
                and not kind.startswith(("text/plain", "text/html", "multipart/"))
            ):
                self.walk(child, depth + 1)

    def forwarded(self, children: list[Message], depth: int) -> None:
        for inner in children:
            if not isinstance(inner, Message):
                continue
            lines = ["---------- Forwarded message ----------"]
            for name in ("From", "Date", "Subject", "To"):
                value = inner.get(name)
                if value:
                    lines.append(f"{name}: {decode_words(str(value))}")
            self.texts.append("\n".join(lines))
            self.walk(inner, depth + 1)


@dataclass
class _Budget:
    """What is left for building one message's MIME tree."""

    notes: list[str]
    deadline: float
    parts: int = 0
    exhausted: bool = False

    def spend(self) -> bool:
        """Count one part; False once the part count or the time is used up."""
        if self.exhausted:
            return False
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.notes.append(f"more than {MAX_PARTS} parts: only the first were read")
            self.exhausted = True
        elif time.monotonic() > self.deadline:
            self.notes.append(f"reading the parts took over {PARSE_SECONDS:.0f}s: stopped early")
            self.exhausted = True
        return not self.exhausted


def split_multipart(body: bytes, boundary: bytes) -> list[bytes] | None:
    """The parts between ``--boundary`` delimiter lines (RFC 2046 §5.1.1): preamble and
    epilogue dropped, a missing close delimiter tolerated. None when no delimiter is found."""
    delimiter = b"--" + boundary
    parts: list[bytes] = []
    start: int | None = None
    position = 0
    size = len(delimiter)
    while True:
        found = body.find(delimiter, position)
        if found < 0:
            break
        position = found + size
        if found > 0 and body[found - 1 : found] != b"\n":
            continue  # not at the start of a line
        line_end = body.find(b"\n", position)
        line_end = len(body) if line_end < 0 else line_end
        rest = body[position:line_end]
        closing = rest.startswith(b"--")
        if not closing and rest.strip():
            continue  # a longer boundary that merely starts with this one
        if start is not None:
            end = found - 1 if found > 0 else found
            if end > start and body[end - 1 : end] == b"\r":
                end -= 1
            parts.append(body[start : max(end, start)])
        if closing:
            return parts
        start = line_end + 1
        position = start
    if start is None:
        return None
    if start < len(body):
        parts.append(body[start:])
    return parts


def _header_pairs(head: bytes) -> list[tuple[str, str]]:
    """Unfolded (name, value) header pairs as compat32 keeps them (8-bit bytes as
    surrogate escapes)."""
    pairs: list[tuple[str, str]] = []
    for line in head.split(b"\n"):
        line = line.rstrip(b"\r")
        if line[:1] in (b" ", b"\t"):
            if pairs:
                name, value = pairs[-1]
                pairs[-1] = (name, value + "\n" + line.decode("ascii", "surrogateescape"))
            continue
        name, colon, value = line.partition(b":")
        if colon and name and b" " not in name.strip():
            pairs.append(
                (
                    name.decode("ascii", "replace").strip(),
                    value.decode("ascii", "surrogateescape").strip(),
                )
            )
        if len(pairs) >= MAX_HEADERS:
            break
    return pairs


def build_tree(data: bytes, budget: _Budget, depth: int = 0, *, default_type: str = "") -> Message:
    """A compat32 :class:`Message` tree built by splitting on boundaries with ``bytes.find``
    — no recursion in the standard parser, no regular expression compiled per boundary —
    bounded in depth, part count and time. What is not split stays as the part's payload."""
    head, body = split_message(data, top=depth == 0)
    message = Message()
    if default_type:
        message.set_default_type(default_type)
    message._headers = _header_pairs(head)  # noqa: SLF001 - what the stdlib parser fills in
    content_type = message.get_content_type()
    if content_type.startswith("multipart/") or content_type == "message/rfc822":
        if depth >= MAX_DEPTH:
            budget.notes.append(
                f"nested deeper than {MAX_DEPTH} levels: the inner parts were not read"
            )
        elif content_type == "message/rfc822":
            if budget.spend():
                message.set_payload([build_tree(body, budget, depth + 1)])
                return message
        else:
            boundary = message.get_boundary()
            pieces = (
                split_multipart(body, boundary.encode("ascii", "surrogateescape"))
                if boundary
                else None
            )
            if pieces is not None:
                children = []
                child_type = "message/rfc822" if content_type == "multipart/digest" else ""
                for piece in pieces:
                    if not budget.spend():
                        break
                    children.append(build_tree(piece, budget, depth + 1, default_type=child_type))
                message.set_payload(children)
                return message
            budget.notes.append("a multipart without its boundary: read as text")
    message.set_payload(body.decode("ascii", "surrogateescape"))
    return message


def _body(
    raw: bytes,
    body: bytes,
    headers: dict[str, list[str]],
    content_type: str,
    holder: Message,
    notes: list[str],
) -> tuple[str, list[Attachment]]:
    if not content_type.startswith(("multipart/", "message/")):
        data = decode_transfer(body, _first(headers, "content-transfer-encoding"), notes)
        if _is_inline_text(content_type) or not _first(headers, "content-type"):
            return _normalize_text(decode_bytes(data, holder.get_param("charset"), notes)), []
        if content_type == "text/html":
            text = decode_bytes(data, holder.get_param("charset"), notes)
            return html_to_text(_normalize_text(text)), []
        walk = _Walk(notes, time.monotonic() + PARSE_SECONDS)
        part = Message()
        part["Content-Type"] = _first(headers, "content-type")
        for key in ("content-disposition",):
            if key in headers:
                part[key] = _first(headers, key)
        part.set_payload(data)
        walk.attach(part, content_type)
        if walk.calendars:
            return "\n\n".join(walk.calendars), walk.attachments
        return "", walk.attachments
    deadline = time.monotonic() + PARSE_SECONDS
    message = build_tree(raw, _Budget(notes, deadline))
    walk = _Walk(notes, deadline)
    walk.walk(message, 0)
    texts = [t for t in walk.texts if t.strip()]
    if not texts:
        texts = [c for c in walk.calendars if c]
    return "\n\n".join(texts), walk.attachments


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
    headers, kept = read_headers(head)
    subject = decode_words(_first(headers, "subject"))
    from_pairs = _addresses(_first(headers, "from"))
    from_name, from_address = from_pairs[0] if from_pairs else ("", "")
    if not from_pairs:
        sender = _addresses(_first(headers, "sender") or _first(headers, "return-path"))
        if sender:
            from_name, from_address = sender[0]
        else:
            notes.append("no sender address")
    content_type, holder = _content_type(_first(headers, "content-type") or None)
    text = ""
    attachments: list[Attachment] = []
    if len(raw) > MAX_MESSAGE_BYTES:
        notes.append(
            f"larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB: only the headers were read"
        )
    else:
        try:
            text, attachments = _body(raw, body, headers, content_type, holder, notes)
        except RecursionError:
            notes.append("nested too deeply to read the body")
        except Exception as error:
            notes.append(f"body unreadable ({type(error).__name__}: {str(error)[:200]})")
    if not headers:
        notes.append("no mail headers found: the bytes are shown as text")
        text = text or decode_bytes(raw[:MAX_BODY_CHARS], None)
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS]
        notes.append(f"text longer than {MAX_BODY_CHARS:,} characters: the rest is in the original")
    reply_to = _addresses(_first(headers, "reply-to"))
    own = from_address in settings.own_addresses
    if len(reply_to) == 1 and not own and reply_to[0][1] not in settings.own_addresses:
        author_name = reply_to[0][0] or from_name
        identities = (Identity("email", reply_to[0][1]),)
    else:
        author_name = from_name
        identities = (Identity("email", from_address),) if from_address else ()
    forward = threads.is_forward(subject)
    refs = (
        ()
        if forward
        else threads.references(
            _first(headers, "in-reply-to"), " ".join(headers.get("references", ()))
        )
    )
    digest = identity.content_digest(raw)
    external_id = threads.message_id(_first(headers, "message-id")) or identity.synthetic_id(
        kept, body, digest
    )
    author_addresses = {identity.address for identity in identities} | {from_address}
    participants = tuple(
        Identity("email", address)
        for address in dict.fromkeys(
            address
            for header in ("to", "cc")
            for value in headers.get(header, ())
            for _, address in _addresses(value)
        )
        if address not in settings.own_addresses and address not in author_addresses
    )
    return InboundMessage(
        external_id=external_id,
        author=Author(author_name or from_address or "(unknown sender)", identities),
        body=text,
        sent_at=_date(_first(headers, "date"), fallback_date),
        subject=subject,
        references=refs,
        attachments=tuple(attachments),
        raw=raw if keep_raw else None,
        parse_note="; ".join(dict.fromkeys(notes)) or None,
        automated=threads.is_automated(headers, content_type, from_address),
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
