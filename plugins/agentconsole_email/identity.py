"""Which mail is the same mail: the content digest and the synthetic Message-ID.

The core stores a message once per (channel, Message-ID, content digest). The digest is a
SHA-256 of the raw message as its author's side wrote it:

* headers added in transit are left out (:data:`TRANSIT_HEADERS`, :data:`TRANSIT_PREFIXES`:
  ``Received``, ``Return-Path``, ``Delivered-To``, ``X-Original-To``, ``DKIM-Signature``,
  ``ARC-*``, ``Authentication-Results``, ``X-Spam-*``, mbox status headers …), with their
  folded continuation lines, and so is an mbox ``From`` separator line;
* line endings are not content (IMAP serves CRLF, a Maildir keeps LF), nor are blank lines
  at the very end (mbox writers add one);
* everything else counts byte for byte. Two messages whose other headers differ only in
  whitespace are different bytes, so different messages: both are kept (under the same
  Message-ID, the second with a note), never collapsed into one.

So the same mail fetched over IMAP, read from a Maildir or piped to ``deliver`` — after
more hops, a second spam scan, another signature — is one message; a revised mail, a
mailing-list copy with a footer or a generator reusing one Message-ID is another.

Mail without a Message-ID gets a synthetic one derived from its content (:func:`synthetic_id`).
"""

from __future__ import annotations

import hashlib
import re

from . import threads

#: Prefix of the digests this plugin computes (``InboundMessage.content_digest``).
SCHEME = "rfc822-1"

#: Header fields added on the way to us (lower case); not part of the content.
TRANSIT_HEADERS = frozenset(
    {
        "received",
        "x-received",
        "return-path",
        "delivered-to",
        "x-delivered-to",
        "x-original-to",
        "x-forwarded-to",
        "x-forwarded-for",
        "envelope-to",
        "x-envelope-from",
        "x-envelope-to",
        "dkim-signature",
        "authentication-results",
        "received-spf",
        # mbox and local clients' bookkeeping
        "status",
        "x-status",
        "x-keywords",
        "x-uid",
        "x-imap",
        "x-imapbase",
        "content-length",
        "lines",
    }
)
#: Families of transit header fields, by name prefix (lower case).
TRANSIT_PREFIXES = (
    "arc-",
    "x-spam-",
    "x-virus-",
    "x-amavis-",
    "x-ms-exchange-organization-",
    "x-microsoft-antispam",
    "x-forefront-antispam",
    "x-mozilla-",
)

#: Bytes hashed per step of a large body (a 20 MB message is never copied whole).
_CHUNK = 1 << 20


def _trie_pattern(words: list[bytes]) -> bytes:
    """A regular expression matching exactly ``words``, factored by common prefixes (an
    alternation of 30 names would be tried name by name at every header line)."""
    if b"" in words and len(words) == 1:
        return b""
    groups: dict[bytes, list[bytes]] = {}
    for word in sorted(set(words)):
        if word:
            groups.setdefault(word[:1], []).append(word[1:])
    branches = [re.escape(first) + _trie_pattern(rest) for first, rest in groups.items()]
    pattern = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
    return b"(?:" + pattern + b")?" if b"" in words else pattern


#: A transit header field with its folded continuation lines (in an LF header block); a
#: prefix family is marked by a trailing NUL in the trie, then matches any name tail.
_TRANSIT_FIELD = re.compile(
    b"^"
    + _trie_pattern(
        [name.encode() for name in TRANSIT_HEADERS]
        + [prefix.encode() + b"\0" for prefix in TRANSIT_PREFIXES]
    ).replace(b"\x00", rb"[^:\s]*")
    + rb"[ \t]*:[^\n]*\n(?:[ \t][^\n]*\n)*",
    re.IGNORECASE | re.MULTILINE,
)


def _header_end(raw: bytes, start: int) -> tuple[int, int] | None:
    """(end of the header block, start of the body) — the first empty line — or None when
    the message has none (everything is header-like lines or text)."""
    if raw.startswith(b"\n", start):
        return start, start + 1
    if raw.startswith(b"\r\n", start):
        return start, start + 2
    lf = raw.find(b"\n\n", start)
    crlf = raw.find(b"\r\n\r\n", start, lf if lf >= 0 else len(raw))
    if crlf >= 0:
        return crlf + 1, crlf + 4  # the header block keeps its last line ending
    if lf >= 0:
        return lf + 1, lf + 2
    return None


def content_digest(raw: bytes) -> str:
    """``"rfc822-1:<sha256 hex>"`` of ``raw`` without transit headers (see the module
    docstring). Never raises; reads large bodies in chunks without copying them whole."""
    digest = hashlib.sha256()
    start = 0
    if raw.startswith(b"From ") and raw.find(b"\n") > 0:
        start = raw.find(b"\n") + 1  # an mbox separator line
    end = len(raw)
    while end > start and raw[end - 1] in b"\r\n":
        end -= 1
    split = _header_end(raw, start)
    head_end, body_start = split if split is not None else (end, end)
    head = raw[start:head_end].replace(b"\r\n", b"\n").rstrip(b"\r\n")
    if head:
        # Lines that are not header fields (garbage before the body) are content: kept.
        digest.update(_TRANSIT_FIELD.sub(b"", head + b"\n"))
    if split is not None:
        digest.update(b"\n")  # the empty line between headers and body
    if end - body_start <= _CHUNK:
        digest.update(raw[body_start:end].replace(b"\r\n", b"\n"))
        return f"{SCHEME}:{digest.hexdigest()}"
    view = memoryview(raw)
    carry = b""
    for position in range(body_start, end, _CHUNK):
        chunk = carry + bytes(view[position : min(position + _CHUNK, end)])
        carry = b"\r" if chunk.endswith(b"\r") else b""
        digest.update((chunk[:-1] if carry else chunk).replace(b"\r\n", b"\n"))
    digest.update(carry)
    return f"{SCHEME}:{digest.hexdigest()}"


def _looks_like_mail(kept_headers: list[bytes]) -> bool:
    return any(
        line.split(b":", 1)[0].strip().lower() in (b"from", b"to", b"subject", b"date")
        for line in kept_headers
    )


def synthetic_id(kept_headers: list[bytes], body: bytes, digest: str) -> str:
    """A stable Message-ID for mail that has none.

    Mail with a header block keeps the id earlier versions gave it (a hash of its headers
    other than trace headers, trimmed, and its body), so a redelivery after an upgrade is
    still recognised; mail that differs only in what that hash leaves out is told apart by
    its content digest. Input without mail headers (an HTML file, a TNEF blob, a stub) is
    named by its content digest, so no two different inputs share an id.
    """
    if not _looks_like_mail(kept_headers):
        return f"<{digest.partition(':')[2][:40]}@{threads.SYNTHETIC_DOMAIN}>"
    legacy = hashlib.sha256()
    for line in kept_headers:
        legacy.update(line.strip())
        legacy.update(b"\n")
    legacy.update(b"\n")
    legacy.update(body.replace(b"\r\n", b"\n"))
    return f"<{legacy.hexdigest()[:40]}@{threads.SYNTHETIC_DOMAIN}>"
