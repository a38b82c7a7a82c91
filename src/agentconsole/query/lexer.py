"""Cut a query into tokens, each with its place in the text (for errors that point).

One pass over the characters, no regular expressions: linear in the length of the query,
so it can run on every key press.
"""

from __future__ import annotations

from typing import Literal

from ..models import record
from .errors import QueryError

TokenKind = Literal["word", "field", "lparen", "rparen", "or", "and", "not"]

#: Characters that end a bare word (besides white space).
_DELIMITERS = frozenset("()")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


@record
class Token:
    """One token; ``start``/``end`` are offsets in the query (end exclusive).

    A ``word`` has its ``text`` (quotes and trailing ``*`` removed), ``quoted`` and
    ``prefix``; a ``field`` has ``name`` (as typed), ``text`` (its raw value), ``quoted``
    and ``value_start``, where the value begins (``#338`` is the field ``id``).
    """

    kind: TokenKind
    start: int
    end: int
    text: str = ""
    name: str = ""
    quoted: bool = False
    prefix: bool = False
    value_start: int = 0


def tokenize(query: str) -> list[Token]:
    """The tokens of ``query``; raises :class:`QueryError` at an unclosed quote, a quote
    inside a word, or a ``-`` that does not touch what it negates."""
    tokens: list[Token] = []
    length = len(query)
    index = 0
    while index < length:
        char = query[index]
        if char.isspace():
            index += 1
        elif char == "(":
            tokens.append(Token("lparen", index, index + 1))
            index += 1
        elif char == ")":
            tokens.append(Token("rparen", index, index + 1))
            index += 1
        elif char == "-":
            if index + 1 == length or query[index + 1].isspace():
                raise QueryError(
                    "'-' must touch what it negates: -tag:spam, -(a OR b)", query, index, index + 1
                )
            tokens.append(Token("not", index, index + 1))
            index += 1
        elif char == '"':
            text, after = _quoted(query, index)
            prefix = after < length and query[after] == "*"
            end = after + 1 if prefix else after
            _expect_end_of_term(query, end)
            tokens.append(Token("word", index, end, text=text, quoted=True, prefix=prefix))
            index = end
        else:
            token = _bare(query, index)
            tokens.append(token)
            index = token.end
    return tokens


def _bare(query: str, start: int) -> Token:
    """A word, ``OR``/``AND``, ``#338`` or a ``field:value`` starting at ``start``."""
    length = len(query)
    name_end = start
    while name_end < length and query[name_end] in _NAME_CHARS:
        name_end += 1
    if name_end > start and name_end < length and query[name_end] == ":":
        value_start = name_end + 1
        name = query[start:name_end]
        if value_start < length and query[value_start] == '"':
            text, end = _quoted(query, value_start)
            _expect_end_of_term(query, end)
            return Token("field", start, end, text, name, True, False, value_start)
        end = _word_end(query, value_start)
        text = query[value_start:end]
        return Token("field", start, end, text, name, False, False, value_start)
    end = _word_end(query, start)
    word = query[start:end]
    if word == "OR":
        return Token("or", start, end)
    if word == "AND":
        return Token("and", start, end)
    if word[0] == "#" and word[1:].isdigit():
        return Token("field", start, end, word[1:], "id", False, False, start + 1)
    stripped = word.rstrip("*")
    return Token("word", start, end, stripped, prefix=len(stripped) < len(word))


def _word_end(query: str, start: int) -> int:
    """Where a bare word starting at ``start`` ends; a quote inside one is an error (quote
    the whole word or value instead)."""
    index = start
    length = len(query)
    while index < length:
        char = query[index]
        if char.isspace() or char in _DELIMITERS:
            break
        if char == '"':
            raise QueryError(
                'a quote inside a word: quote the whole word or value, e.g. subject:"card declined"',
                query,
                index,
                index + 1,
            )
        index += 1
    return index


def _quoted(query: str, start: int) -> tuple[str, int]:
    """The text of the quoted string opening at ``start`` and the offset after its closing
    quote. Inside, ``\\"`` is a quote and ``\\\\`` a backslash; any other backslash is itself."""
    parts: list[str] = []
    index = start + 1
    length = len(query)
    while index < length:
        char = query[index]
        if char == '"':
            return "".join(parts), index + 1
        if char == "\\" and index + 1 < length and query[index + 1] in '"\\':
            parts.append(query[index + 1])
            index += 2
            continue
        parts.append(char)
        index += 1
    raise QueryError("this quote is never closed", query, start, start + 1)


def _expect_end_of_term(query: str, index: int) -> None:
    if index < len(query) and not query[index].isspace() and query[index] not in _DELIMITERS:
        raise QueryError(
            "put a space after the closing quote", query, index, _run_end(query, index)
        )


def _run_end(query: str, start: int) -> int:
    index = start
    while index < len(query) and not query[index].isspace() and query[index] not in _DELIMITERS:
        index += 1
    return index


def quote(text: str) -> str:
    """``text`` as a quoted string the lexer reads back exactly."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
