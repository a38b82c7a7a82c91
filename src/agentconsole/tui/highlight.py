"""The words of a search, highlighted where they occur in a hit's snippet.

The snippet is customer text: it becomes a Rich ``Text`` through :func:`safe_text` (never
markup) and the matches are styled by span, computed here on the cleaned text, so ``[bold]``
in a message shows as typed whatever was searched.
"""

from __future__ import annotations

import unicodedata

from rich.text import Text

from ..query import And, Node, Or, QueryError, parse
from ..query import Text as Word
from .safe_text import safe_text

#: How a matched word shows in a hit.
MATCH_STYLE = "bold reverse"


def search_words(query: str) -> list[str]:
    """The words and phrases a search looks for (not the negated ones, not the fields);
    empty when ``query`` does not parse."""
    try:
        node = parse(query, prefix_last=True)
    except QueryError:
        return []
    return [word for word in _words(node) if word]


def _words(node: Node) -> list[str]:
    if isinstance(node, Word):
        return [node.word]
    if isinstance(node, And | Or):
        return [word for term in node.terms for word in _words(term)]
    return []  # fields, and anything under a "-": nothing to show as found


def fold(text: str) -> str:
    """``text`` with case and accents dropped, one character for one (so a position in the
    folded text is the same position in ``text``)."""
    return "".join(_fold_char(char) for char in text)


def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFKD", char)[:1] or char
    folded = base.casefold()
    return folded if len(folded) == 1 else char.lower()[:1] or char


def highlight(snippet: str, words: list[str], style: str = MATCH_STYLE) -> Text:
    """``snippet`` as safe one-line text with every occurrence of ``words`` styled."""
    text = safe_text(snippet, "dim", multiline=False)
    plain = fold(text.plain)
    for word in (fold(w) for w in words):
        start = plain.find(word)
        while word and start >= 0:
            text.stylize(style, start, start + len(word))
            start = plain.find(word, start + len(word))
    return text
