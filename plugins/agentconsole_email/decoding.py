"""Bytes and header values → text: charsets, RFC 2047 encoded words, transfer encodings.

Every function here accepts whatever a mailer sent and never raises on it: an unknown or
wrong charset falls back to UTF-8, then Windows-1252, and says so in ``notes``; a damaged
or unknown transfer encoding leaves the bytes as they are, with a note.
"""

from __future__ import annotations

import binascii
import codecs
import re

#: Transfer encodings that leave the bytes as they are.
TEXT_ENCODINGS = ("", "7bit", "8bit", "binary")
_UUENCODE = ("x-uuencode", "uuencode", "x-uue", "uue")
_WHITESPACE = re.compile(r"\s+")
#: Python text codecs no mail charset names: a sender must not have its bytes read as
#: backslash escapes (``\x1b`` in the text becoming a real ESC) or as IDNA/Punycode.
_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "punycode", "idna"})


def decode_bytes(data: bytes, charset: str | None, notes: list[str] | None = None) -> str:
    """Text from bytes in the declared charset; an unknown or wrong charset falls back to
    UTF-8, then Windows-1252, and says so in ``notes``."""
    name = (charset or "").strip().strip("\"'").lower()
    if name and name not in ("us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        try:
            if codecs.lookup(name).name in _NOT_CHARSETS:
                raise LookupError(name)
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


def header_text(value: bytes) -> str:
    """A raw header value as text: ASCII, else (RFC 6532, or a mailer that did not care)
    UTF-8 or Windows-1252."""
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        return decode_bytes(value, None)


#: An RFC 2047 encoded word: ``=?charset?B|Q?text?=`` (the charset may name a language).
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
#: Bytes a ``surrogateescape`` decoding (compat32's part headers) carried as U+DC80–U+DCFF.
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


def _unescape(value: str) -> str:
    """8-bit header bytes carried as surrogate escapes, decoded as :func:`header_text` does
    (UTF-8, else Windows-1252): a raw UTF-8 file name reads as itself, not as escapes."""
    if value.isascii() or not _ESCAPED_BYTES.search(value):
        return value
    return header_text(value.encode("utf-8", "surrogateescape"))


def _word_bytes(encoding: str, text: str) -> bytes | None:
    """The bytes of an encoded word's text; None when it is damaged."""
    data = text.encode("ascii", "replace")
    try:
        if encoding in "bB":
            decoded = binascii.a2b_base64(data + b"=" * (-len(data) % 4))
            return decoded if decoded or not data else None
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None


def decode_words(value: str) -> str:
    """A header value with RFC 2047 encoded words decoded and whitespace collapsed.

    Text outside encoded words is kept as it is (a backslash is a backslash); whitespace
    between two encoded words is dropped, and adjacent words in one charset are decoded
    together (a character may be split between them). A damaged word stays as written."""
    value = _unescape(value)
    if "=?" not in value:
        return _WHITESPACE.sub(" ", value).strip()
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    position = 0
    for found in _ENCODED_WORD.finditer(value):
        between = value[position : found.start()]
        data = _word_bytes(found.group(2), found.group(3))
        if data is None:
            continue  # left in the text as written
        charset = found.group(1).partition("*")[0]
        adjacent = pending_charset is not None and not between.strip()
        if not adjacent or charset.lower() != (pending_charset or "").lower():
            if pending_charset is not None:
                out.append(decode_bytes(bytes(pending), pending_charset))
                pending.clear()
            if not adjacent:
                out.append(between)
        pending += data
        pending_charset = charset
        position = found.end()
    if pending_charset is not None:
        out.append(decode_bytes(bytes(pending), pending_charset))
    out.append(value[position:])
    return _WHITESPACE.sub(" ", "".join(out)).strip()


def decode_transfer(payload: bytes | memoryview, encoding: str, notes: list[str]) -> bytes:
    """Undo a Content-Transfer-Encoding; an unknown one leaves the bytes as they are.

    ``payload`` may be a view into a larger buffer: base64 and quoted-printable are decoded
    straight from it, so a large part costs its decoded size once, not several copies."""
    encoding = encoding.strip().lower()
    if encoding in TEXT_ENCODINGS:
        return bytes(payload)
    try:
        if encoding == "base64":
            return binascii.a2b_base64(payload)
        if encoding == "quoted-printable":
            return binascii.a2b_qp(payload)
        if encoding in _UUENCODE:
            out = bytearray()
            for line in bytes(payload).splitlines():
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
        notes.append(f"damaged {encoding[:40]} content, shown undecoded")
        return bytes(payload)
    notes.append(f"unknown transfer encoding {encoding[:40]!r}, shown undecoded")
    return bytes(payload)
