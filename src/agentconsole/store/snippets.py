"""A search hit's snippet: the few words of its message around the first word searched for.

The database cuts the snippet's raw text out of the body, so only that leaves it: it finds the earliest of the query's words (ASCII letters
compared case-insensitively, spelt by each backend in :meth:`Dialect.position_of`, so both
find the same place) and returns a window of :data:`WINDOW` characters from
:data:`BEFORE` characters ahead of it (measured on the generated mailbox: ASCII folding in
the database costs less than Python lower-casing bodies that hold accented text, and a
whole body never crosses over). Python then makes it one clean line
(:func:`agentconsole.sanitize.one_line`: no control sequence, whitespace folded) and cuts
it to :data:`WIDTH` characters with the match a third of the way in, ``…`` marking text left
out. What comes back is plain text, equal on every backend for the same message; whoever
shows it highlights the words on it as on any cleaned text.

A hit whose words are only in its subject or author, or differ from the body by accents or
by the case of a non-ASCII letter, shows the body's beginning.
"""

from __future__ import annotations

import re

from ..sanitize import one_line
from .dialect import Dialect

#: Characters in a snippet (as the queue and ``search`` show it).
WIDTH = 120
#: How much raw text precedes the match in the window: a third of the snippet, with room
#: for whitespace that folds away.
BEFORE = 50
#: Raw characters of the window: the snippet and the whitespace that folds away (a body of
#: mostly blank lines gives a shorter snippet).
WINDOW = 170
#: At most this many of the query's words place the snippet (the earliest one found wins).
MAX_WORDS = 4

_WORD = re.compile(r"\w+")
#: Characters of the snippet ahead of the match.
_LEAD = WIDTH // 3


def words(text: str) -> list[str]:
    """The words of the query text that place a snippet, lower-cased, each once."""
    found = dict.fromkeys(word.lower() for word in _WORD.findall(text))
    return list(found)[:MAX_WORDS]


def window_columns(dialect: Dialect, body: str, hit: str, count: int) -> tuple[str, str]:
    """(the positions of ``count`` words in ``body``, for the inner select of the hits —
    one ``?`` each, given by :func:`words` — and the outer columns: the window's start and
    its text, one character longer than :data:`WINDOW` when the body goes on, reading the
    positions from alias ``hit``)."""
    positions = ", ".join(f"{dialect.position_of(body)} AS p{i}" for i in range(count)) or "0 AS p0"
    earliest = f"{hit}.p0"
    for i in range(1, count):
        found = f"{hit}.p{i}"
        earliest = (
            f"CASE WHEN {found} > 0 AND ({earliest} = 0 OR {found} < {earliest})"
            f" THEN {found} ELSE {earliest} END"
        )
    start = f"(CASE WHEN {earliest} > {BEFORE} THEN {earliest} - {BEFORE} ELSE 1 END)"
    return positions, f"{start}, substr({body}, {start}, {WINDOW + 1})"


def snippet(start: int, window: str, searched: list[str]) -> str:
    """The snippet from the window a hit's row brought (``start``: its 1-based position in
    the body): cleaned, one line, at most :data:`WIDTH` characters with the earliest of
    the ``searched`` words a third of the way in."""
    # Run for each of a search's hits: one pass of cleaning, then plain string methods
    # (a generator and min() here cost as much as the cleaning).
    flat = one_line(window[:WINDOW])
    lower = flat.lower()
    position = -1
    for word in searched:
        found = lower.find(word)
        if found >= 0 and (position < 0 or found < position):
            position = found
    cut = position - _LEAD if position > _LEAD else 0
    excerpt = flat[cut : cut + WIDTH]
    if start > 1 or cut:
        excerpt = "…" + excerpt
    if cut + WIDTH < len(flat) or len(window) > WINDOW:
        excerpt += "…"
    return excerpt
