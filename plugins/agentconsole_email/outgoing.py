"""What our replies may carry in their headers: text without control characters, Message-IDs
that are only visible ASCII, and recipients that are real addresses.

A customer's subject, Message-ID, name and address come back in the headers we write
(``Re: <subject>``, In-Reply-To, References, To, Cc). Decoded, they may hold ESC, BEL, NUL or
bidirectional overrides, which would reach the customer, everyone in Cc and their terminals
raw. So header text is cleaned here (controls dropped, line breaks and tabs made spaces),
ids that are not plain ``<visible-ascii>`` are left out (cleaning one would make another
id), and an address that is not a valid address is never a recipient.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_header_text", "is_sendable_address", "is_sendable_message_id"]

#: Bidirectional embeddings, overrides and isolates (format characters, not controls).
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
#: ``<id>`` with only visible ASCII inside (no space, no control, no angle bracket).
_SENDABLE_ID = re.compile(r"<[!-;=?-~]{1,995}>")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
#: A host name label: letters (any script) and digits, hyphens inside.
_LABEL = re.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")


def clean_header_text(value: str) -> str:
    """``value`` fit for a header: line breaks and tabs become spaces, other control
    characters (C0, DEL, C1) and bidirectional overrides are dropped, runs of spaces folded."""
    kept = []
    for char in value.translate(_BIDI):
        if char in "\t\r\n":
            kept.append(" ")
        elif unicodedata.category(char) != "Cc":
            kept.append(char)
    return re.sub(r" {2,}", " ", "".join(kept)).strip()


def is_sendable_message_id(value: str) -> bool:
    """Whether ``value`` may go into In-Reply-To or References as it is."""
    return _SENDABLE_ID.fullmatch(value) is not None


def is_sendable_address(address: str) -> bool:
    """Whether ``address`` is a plain ``local@domain`` we may send to: a dot-atom local
    part (ASCII) and a host name of letters, digits and hyphens, at most 254 characters."""
    if len(address) > 254 or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        return False
    labels = domain.rstrip(".").split(".")
    return all(_LABEL.fullmatch(label) for label in labels)
