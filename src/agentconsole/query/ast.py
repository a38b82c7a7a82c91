"""The typed tree a query parses to, its canonical text, and what later code asks of it.

Nodes are frozen values: equal queries are equal trees, usable as cache keys. The parser
builds them through :func:`all_of` and :func:`any_of`, which flatten nested groups of the
same kind, so ``str(node)`` parses back to a tree equal to ``node``.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..models import record
from .errors import QueryError
from .fields import FIELDS, FieldValue, Op, write_value
from .lexer import quote, tokenize


@record
class Text:
    """A word or ``"phrase"`` to find in the messages (accents and case are the store's
    business). ``phrase``: it was quoted; ``prefix``: it ended in ``*``."""

    word: str
    phrase: bool = False
    prefix: bool = False

    def __str__(self) -> str:
        return to_query(self)


@record
class Field:
    """``name:value``. ``name`` is a key of :data:`~agentconsole.query.fields.FIELDS`;
    ``value`` is typed as that field's spec says; ``op`` compares the stored value (for
    ``priority``, the rank: ``priority:>=high`` is ``Field("priority", "<=", 1)``)."""

    name: str
    op: Op
    value: FieldValue

    def __str__(self) -> str:
        return to_query(self)


@record
class Not:
    """Everything its ``term`` does not match (``-term``, ``-(group)``)."""

    term: Node

    def __str__(self) -> str:
        return to_query(self)


@record
class And:
    """All of ``terms``. With no terms it matches everything: see :data:`MATCH_ALL`."""

    terms: tuple[Node, ...]

    def __str__(self) -> str:
        return to_query(self)


@record
class Or:
    """Any of ``terms`` (at least two)."""

    terms: tuple[Node, ...]

    def __str__(self) -> str:
        return to_query(self)


Node = Text | Field | Not | And | Or

#: The empty query: no condition, every conversation (its text is "").
MATCH_ALL = And(())


def all_of(*nodes: Node) -> Node:
    """The AND of ``nodes``, flattened (an And inside an And joins it; :data:`MATCH_ALL`
    drops out; a single term is itself). This is how to AND a view's query with a search."""
    terms: list[Node] = []
    for node in nodes:
        terms.extend(node.terms if isinstance(node, And) else (node,))
    return terms[0] if len(terms) == 1 else And(tuple(terms))


def any_of(*nodes: Node) -> Node:
    """The OR of ``nodes`` (at least one), flattened like :func:`all_of`."""
    terms: list[Node] = []
    for node in nodes:
        terms.extend(node.terms if isinstance(node, Or) else (node,))
    return terms[0] if len(terms) == 1 else Or(tuple(terms))


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node under it, parents first."""
    yield node
    if isinstance(node, Not):
        yield from walk(node.term)
    elif isinstance(node, And | Or):
        for term in node.terms:
            yield from walk(term)


def has_status_term(node: Node) -> bool:
    """Whether the query says anything about ``status:`` (negated or inside an OR too), so
    ``list`` applies its default, "not closed", only when it does not."""
    return any(isinstance(each, Field) and each.name == "status" for each in walk(node))


def to_query(node: Node) -> str:
    """The canonical text of ``node``: lower-case field names, values quoted only where
    needed, ``OR`` groups in parentheses inside an AND, AND groups in parentheses inside an
    OR (for the reader; the parser binds AND tighter anyway), dates as ISO 8601 UTC.
    Parsing it gives back an equal tree."""
    if isinstance(node, Text):
        return _text(node)
    if isinstance(node, Field):
        return _field(node)
    if isinstance(node, Not):
        inner = to_query(node.term)
        return f"-({inner})" if isinstance(node.term, And | Or) else f"-{inner}"
    if isinstance(node, And):
        return " ".join(
            f"({to_query(term)})" if isinstance(term, Or | And) else to_query(term)
            for term in node.terms
        )
    return " OR ".join(
        f"({to_query(term)})" if isinstance(term, And | Or) else to_query(term)
        for term in node.terms
    )


def _text(node: Text) -> str:
    star = "*" if node.prefix else ""
    if not node.phrase and _reads_back(node.word + star, "word", node.word, node.prefix):
        return node.word + star
    return quote(node.word) + star


def _field(node: Field) -> str:
    spec = FIELDS[node.name]
    op, value = write_value(spec, node.op, node.value)
    bare = f"{spec.name}:{op}{value}"
    if _reads_back(bare, "field", op + value, False):
        return bare
    return f"{spec.name}:{op}{quote(value)}"


def _reads_back(text: str, kind: str, value: str, prefix: bool) -> bool:
    """Whether ``text`` lexes, unquoted, as one token of ``kind`` holding ``value``."""
    try:
        tokens = tokenize(text)
    except QueryError:
        return False
    if len(tokens) != 1:
        return False
    token = tokens[0]
    return (
        token.kind == kind and token.text == value and token.prefix == prefix and not token.quoted
    )
