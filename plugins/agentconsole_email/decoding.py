"""Bytes and header values → text: charsets, RFC 2047 encoded words, transfer encodings.

Every function here accepts whatever a mailer sent and never raises on it: an unknown or
wrong charset falls back to UTF-8, then Windows-1252, and says so in ``notes``; a damaged
or unknown transfer encoding leaves the bytes as they are, with a note.
"""

from __future__ import annotations

import binascii
import re
from email.header import decode_header

#: Transfer encodings that leave the bytes as they are.
TEXT_ENCODINGS = ("", "7bit", "8bit", "binary")
_UUENCODE = ("x-uuencode", "uuencode", "x-uue", "uue")
_WHITESPACE = re.compile(r"\s+")


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


def header_text(value: bytes) -> str:
    """A raw header value as text: ASCII, else (RFC 6532, or a mailer that did not care)
    UTF-8 or Windows-1252."""
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
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
