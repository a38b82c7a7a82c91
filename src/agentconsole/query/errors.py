"""The one error a query raises, the closest-name suggestion and the caret pointer."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from ..errors import UsageError


class QueryError(UsageError):
    """A query that cannot be read. ``start``/``end`` are character offsets of the offending
    token in ``query`` (end exclusive); the message says what is wrong there and, when a
    known name is close, which one was meant. A :class:`UsageError`: the CLI exits 2."""

    def __init__(self, message: str, query: str, start: int, end: int) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.start = max(0, min(start, len(query)))
        self.end = max(self.start, min(end, len(query)))

    @property
    def column(self) -> int:
        """The 1-based column of the offending token, for "column N" messages."""
        return self.start + 1


def closest(word: str, names: Iterable[str]) -> str | None:
    """The known name ``word`` most likely misspells: at most one typo (two for longer
    words), a swap of neighbours counting as one; else the one name it begins; else the
    most similar name when most of it matches ("atach" → "attachment"). None when nothing
    is close, so a wild guess is never offered."""
    word = word.lower()
    candidates = list(names)
    limit = 1 if len(word) <= 4 else 2
    best: tuple[int, str] | None = None
    for name in candidates:
        distance = _edit_distance(word, name, limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, name)
    if best is not None:
        return best[1]
    starting = [name for name in candidates if len(word) >= 2 and name.startswith(word)]
    if len(starting) == 1:
        return starting[0]
    import difflib  # only a misspelt word gets here: every command parses queries

    similar = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return similar[0] if similar else None


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap neighbours),
    cut short once it exceeds ``limit`` (names are short: this stays microseconds)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def did_you_mean(what: str, word: str, names: Iterable[str]) -> str:
    """``unknown field 'tga' — did you mean 'tag'?``, or the list of names when none is
    close: the message of an unknown name."""
    names = tuple(names)
    guess = closest(word, names)
    if guess is not None:
        return f"unknown {what} {word!r} — did you mean {guess!r}?"
    return f"unknown {what} {word!r} — use {_one_of(names)}"


def _one_of(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def format_error(error: QueryError, *, width: int = 80, indent: str = "  ") -> str:
    """The message, then the query with a caret line under the offending token: for the
    CLI's stderr and the TUI's search bar. A query wider than ``width`` is cut around the
    token; control characters show as ``?`` and wide characters get two carets' room, so
    the caret stays under the token in a terminal."""
    text, start, end = _window(error.query, error.start, error.end, width - len(indent))
    shown = "".join(_printable(char) for char in text)
    before = sum(_cells(char) for char in shown[:start])
    under = max(1, sum(_cells(char) for char in shown[start:end]))
    return f"{error.message}\n{indent}{shown}\n{indent}{' ' * before}{'^' * under}"


def _window(query: str, start: int, end: int, width: int) -> tuple[str, int, int]:
    """The part of ``query`` shown in ``width`` cells: a third of it before the token."""
    cells = [_cells(char) for char in query]
    if sum(cells) <= width or width < 20:
        return query, start, end
    left, budget = start, width // 3
    while left > 0 and cells[left - 1] <= budget:
        budget -= cells[left - 1]
        left -= 1
    right, used = left, 0
    while right < len(query) and used + cells[right] <= width:
        used += cells[right]
        right += 1
    while left > 0 and used + cells[left - 1] <= width:  # the end is near: show more before
        left -= 1
        used += cells[left]
    text = query[left:right]
    if left:
        text = "…" + text[1:]
    if right < len(query):
        text = text[:-1] + "…"
    return text, start - left, min(end, right) - left


def _printable(char: str) -> str:
    if char.isspace():
        return " "
    return "?" if unicodedata.category(char)[0] == "C" else char


def _cells(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
