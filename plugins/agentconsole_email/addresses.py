"""Address headers (From, To, Cc, Reply-To, Sender) → ``(name, address)`` pairs, tolerant.

The standard library's ``getaddresses`` copes with group syntax (``To: undisclosed
recipients:;``) and most garbage, but it recurses on nested comments (a To: header with a
few hundred ``(`` raises RecursionError) and glues ``Name address`` without angle brackets
into one "address" with a space in it. So: a ``Name address`` pair is split into its name
and its address; a header the parser cannot read at all is read again without its comments,
then by a plain scan for ``local@domain`` words, and a note names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses

from .decoding import decode_words

#: A ``local@domain`` word: no spaces, brackets, quotes, list separators or comments.
_LOOSE_ADDRESS = re.compile(r"[^\s<>()\[\]\",;:@\\]+@[^\s<>()\[\]\",;:@\\]+")

Pair = tuple[str, str]

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_PLAIN_ADDRESS = rf"{_DOT_ATOM}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
#: One address in the forms most mail uses: ``local@domain``, ``Name <local@domain>`` (the
#: name plain words) or ``"Any, name" <local@domain>``; read without the general parser
#: (which walks the header a character at a time), with the same result.
_SIMPLE_ENTRY = re.compile(
    rf"\s*(?:({_PLAIN_ADDRESS})|((?:{_ATEXT}|[ \t])*)<({_PLAIN_ADDRESS})>"
    rf'|"([^"\\\r\n]*)"[ \t]*<({_PLAIN_ADDRESS})>)\s*'
)


def _simple_pairs(value: str) -> list[Pair] | None:
    """The pairs of ``value`` when each of its entries has one of the simple forms, else
    None (the general parser reads it)."""
    if "(" in value or "\\" in value:
        return None
    out: list[Pair] = []
    for element in _elements(value):
        if not element.strip():
            continue
        found = _SIMPLE_ENTRY.fullmatch(element)
        if found is None:
            return None
        bare, name, named, quoted, quoted_address = found.groups()
        if bare is not None:
            out.append(("", bare.lower()))
        elif named is not None:
            out.append((decode_words(name), named.lower()))
        else:
            out.append((decode_words(quoted), quoted_address.lower()))
    return out


def parse_addresses(value: str) -> list[Pair]:
    """(decoded name, lower-case address) pairs of one header value; entries without an
    address (a group name, garbage) are left out. Raises whatever the standard parser
    raises on it (RecursionError on deeply nested comments)."""
    simple = _simple_pairs(value)
    if simple is not None:
        return simple
    out: list[Pair] = []
    for name, address in getaddresses([value]):
        address = address.strip().strip("<>").strip()
        if "@" not in address:
            continue
        if len(address.split()) > 1:  # "Name address" without angle brackets
            out.extend(loose_addresses(address, name))
            continue
        out.append((decode_words(name), address.lower()))
    return out


def loose_addresses(text: str, name: str = "") -> list[Pair]:
    """Every ``local@domain`` word of ``text``; in each comma-separated element with one
    address, the rest of the element is its name (unless ``name`` is given)."""
    found: list[Pair] = []
    for element in _elements(text):
        words = _LOOSE_ADDRESS.findall(element)
        label = name
        if not label and len(words) == 1:
            label = " ".join(element.replace(words[0], " ").split()).strip(" \"'<>")
        found.extend((decode_words(label), word.rstrip(".").lower()) for word in words)
    return found


def _elements(text: str) -> list[str]:
    """``text`` split at the commas outside double quotes."""
    if '"' not in text:
        return text.split(",")
    elements: list[str] = []
    start = 0
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            elements.append(text[start:index])
            start = index + 1
    elements.append(text[start:])
    return elements


def without_comments(value: str) -> str:
    """``value`` with its ``(comments)`` removed however deeply they nest (quoted strings
    and backslash escapes respected); one pass, no recursion."""
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
        elif char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif quoted:
            out.append(char)
            quoted = char != '"'
        elif char == '"' and depth == 0:
            quoted = True
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(" ")
        elif depth == 0:
            out.append(char)
    return "".join(out)


def read_address_header(label: str, values: Iterable[str], notes: list[str]) -> list[Pair]:
    """The addresses of every value of one header (``label`` as it is written, e.g. "To").
    A value the parser cannot read adds the note "the To header could not be read" and
    yields what a reading without its comments, or a plain scan, still finds."""
    out: list[Pair] = []
    for value in values:
        try:
            out.extend(parse_addresses(value))
            continue
        except Exception:
            pass
        plain = without_comments(value)
        try:
            recovered = parse_addresses(plain)
        except Exception:
            recovered = loose_addresses(plain)
        kept = "; the addresses in it were kept" if recovered else ""
        notes.append(f"the {label} header could not be read{kept}")
        out.extend(recovered)
    return out
