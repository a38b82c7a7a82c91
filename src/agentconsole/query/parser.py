"""Parse a query into its typed tree.

Grammar (NOT binds tighter than AND, AND tighter than OR)::

    query   = [or_expr]
    or_expr = and_expr { "OR" and_expr }
    and_expr= unary { ["AND"] unary }
    unary   = "-" unary | "(" or_expr ")" | term
    term    = word | "phrase" | field ":" value | "#" digits
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from ..models import replace
from .ast import MATCH_ALL, Field, Node, Not, Text, all_of, any_of
from .errors import QueryError, closest, did_you_mean
from .fields import FIELDS, BadValue, read_value, stored_op
from .lexer import Token, tokenize

_T = TypeVar("_T")

#: Deeper nesting than any person types; keeps a pasted "((((…" from exhausting the stack.
MAX_DEPTH = 64


def parse(query: str, *, now: datetime | None = None, prefix_last: bool = False) -> Node:
    """The tree of ``query``; :data:`MATCH_ALL` when it is empty.

    ``now`` (an aware datetime; default: now, in the local zone) anchors relative dates —
    ``after:yesterday`` becomes the UTC timestamp of yesterday 00:00 in ``now``'s zone.
    ``assignee:me`` stays symbolic. Raises :class:`QueryError` pointing at an offending
    token (quoting and ``-`` are checked over the whole text first, then the rest from left
    to right), with a suggestion when a field or value name is close to a known one.

    With ``prefix_last`` (search as you type), a bare word of two or more characters that
    ends the text is a prefix, so results show while it is being typed.
    """
    tokens = tokenize(query)
    if prefix_last and tokens:
        last = tokens[-1]
        if (
            last.kind == "word"
            and not last.quoted
            and last.end == len(query)
            and len(last.text) > 1
        ):
            tokens[-1] = replace(last, prefix=True)
    return _Parser(query, tokens, _aware(now)).parse()


def parse_field(name: str, value: str, *, now: datetime | None = None) -> Field:
    """The term ``name:value`` with ``value`` taken whole, as if quoted, except that a
    comparison may lead it (``priority``, ``>=high``): how a command-line flag such as
    ``--tag "two words"`` becomes a term. Raises :class:`QueryError` like :func:`parse`,
    about the text ``name:value``."""
    text = f"{name}:{value}"
    token = Token("field", 0, len(text), value, name, False, False, len(name) + 1)
    return _Parser(text, [token], _aware(now))._field(token)


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now().astimezone()
    return now if now.tzinfo is not None else now.astimezone()


class _Parser:
    def __init__(self, query: str, tokens: list[Token], now: datetime) -> None:
        self.query = query
        self.tokens = tokens
        self.now = now
        self.index = 0
        self.depth = 0

    def parse(self) -> Node:
        node = self._or()
        token = self._peek()
        if token is not None:  # only a ")" stops an expression early
            raise self._error("unbalanced ')': no '(' opens it", token)
        return MATCH_ALL if node is None else node

    def _peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _error(self, message: str, token: Token, end: Token | None = None) -> QueryError:
        return QueryError(message, self.query, token.start, (end or token).end)

    def _ends_operand(self, token: Token | None) -> bool:
        return token is None or token.kind in ("rparen", "or", "and")

    def _or(self) -> Node | None:
        first = self._and()
        terms = [] if first is None else [first]
        while (token := self._peek()) is not None and token.kind == "or":
            self._next()
            if first is None:
                raise self._error("nothing before OR: put a term on each side", token)
            if self._ends_operand(self._peek()):
                raise self._error("nothing after OR: put a term on each side", token)
            following = self._and()
            assert following is not None  # a term follows, as just checked
            terms.append(following)
        return any_of(*terms) if terms else None

    def _and(self) -> Node | None:
        terms: list[Node] = []
        while (token := self._peek()) is not None and token.kind not in ("rparen", "or"):
            if token.kind == "and":
                self._next()
                if not terms:
                    raise self._error("nothing before AND: put a term on each side", token)
                if self._ends_operand(self._peek()):
                    raise self._error("nothing after AND: put a term on each side", token)
                continue
            terms.append(self._unary())
        return all_of(*terms) if terms else None

    def _unary(self) -> Node:
        token = self._next()
        if token.kind == "not":
            if self._ends_operand(self._peek()):
                raise self._error("nothing to negate after '-'", token)
            return Not(self._nested(self._unary, token))
        if token.kind == "lparen":
            inner = self._nested(self._or, token)
            closing = self._peek()
            if closing is None or closing.kind != "rparen":
                raise self._error("this '(' is never closed", token)
            self._next()
            if inner is None:
                raise self._error("empty parentheses", token, closing)
            return inner
        if token.kind == "word":
            return self._text(token)
        return self._field(token)

    def _nested(self, step: Callable[[], _T], token: Token) -> _T:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(f"nested more than {MAX_DEPTH} deep", token)
        try:
            return step()
        finally:
            self.depth -= 1

    def _text(self, token: Token) -> Text:
        if not any(char.isalnum() for char in token.text):
            what = "empty quotes" if token.quoted and not token.text else repr(token.text)
            raise self._error(f"{what}: nothing to search for (no letter or digit)", token)
        return Text(token.text, token.quoted, token.prefix)

    def _field(self, token: Token) -> Field:
        spec = FIELDS.get(token.name.lower())
        if spec is None:
            message = did_you_mean("field", token.name, FIELDS)
            if closest(token.name, FIELDS) is None:
                message += f'; to search for the text, quote it: "{token.name}:…"'
            raise QueryError(message, self.query, token.start, token.start + len(token.name))
        try:
            op, value = read_value(spec, token.text, token.quoted, self.now)
        except BadValue as error:
            # Point inside the quotes of a quoted value (offsets count from its text).
            base = token.value_start + (1 if token.quoted else 0)
            value_end = token.end - (1 if token.quoted else 0)
            start = base + error.start
            end = value_end if error.end is None else base + error.end
            if start >= value_end:  # nothing typed after the colon: point at the field
                start, end = token.start, token.end
            raise QueryError(error.message, self.query, start, end) from None
        return Field(spec.name, stored_op(spec, op), value)
