"""The words a message is indexed under in PostgreSQL, cut by agentconsole itself the way
SQLite's ``unicode61 remove_diacritics 2`` tokenizer cuts them (runs of letters and digits,
lower-cased, accents removed), so a query finds the same messages in both stores, prefix
included. PostgreSQL's own parsers would keep ``user@example.com`` or ``3.5`` as one token
and find other hits.

Documents are written as ``tsvector`` literals and queries as ``tsquery`` literals: the
words are letters and digits only, so they need no escaping.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
#: The same runs in ASCII text (lower-cased): a class of ranges is twice as quick to match.
_ASCII_WORD = re.compile(r"[a-z0-9]+")
#: PostgreSQL keeps at most 256 positions per word and numbers positions up to 16,383.
_MAX_POSITIONS = 255
_MAX_POSITION = 16383
#: Longer words are not indexed by either store in practice (PostgreSQL refuses > 2 KiB).
_MAX_WORD = 255
#: A gap between columns, so a phrase never matches across subject, author and body.
_COLUMN_GAP = 8


def words(text: str) -> list[str]:
    """The words of ``text`` as both stores index them."""
    lowered = text.lower()
    # ASCII (most text) has no accents to remove: the character-by-character pass below
    # was most of the CPU time a message cost to index.
    if lowered.isascii():
        found = _ASCII_WORD.findall(lowered)
    else:
        lowered = _without_accents(lowered)
        found = _WORD.findall(lowered)
    if len(lowered) <= _MAX_WORD:  # no word can be too long: no need to look at each
        return found
    return [word for word in found if len(word) <= _MAX_WORD]


def _without_accents(text: str) -> str:
    return "".join(
        char for char in unicodedata.normalize("NFD", text) if not unicodedata.combining(char)
    )


def document(subject: str, author: str, body: str) -> str:
    """The ``tsvector`` literal of a message: each word with its positions and the weight
    of its column (A subject, B author, D body)."""
    positions: dict[str, list[str]] = {}
    position = 0
    for text, weight in ((subject, "A"), (author, "B"), (body, "")):
        for word in words(text):
            if position < _MAX_POSITION:
                position += 1
            found = positions.get(word)
            if found is None:
                positions[word] = [f"{position}{weight}"]
            elif len(found) < _MAX_POSITIONS:
                found.append(f"{position}{weight}")
        position = min(position + _COLUMN_GAP, _MAX_POSITION)
    return " ".join(f"'{word}':{','.join(found)}" for word, found in positions.items())


def term(text: str, *, phrase: bool, prefix: bool, column: str | None) -> str:
    """A ``tsquery`` for one term: a word, or the words of a phrase (or of a word holding
    punctuation, such as ``e-mail``) in a row; ``prefix`` makes the last one a prefix;
    ``column="subject"`` keeps it to subjects."""
    found = words(text)
    if not found:
        return ""
    weight = "A" if column == "subject" else ""
    parts = [f"'{word}'" + (f":{weight}" if weight else "") for word in found]
    if prefix and not phrase:
        parts[-1] = f"'{found[-1]}':*{weight}"
    return " <-> ".join(parts) if len(parts) > 1 else parts[0]
