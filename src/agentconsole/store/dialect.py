"""What differs between SQL databases in a compiled query, in one small place: full-text
matching and case-insensitive comparison. Time arithmetic is done in Python (the compiler
passes ``now - duration`` as a parameter), so it needs nothing here.

The SQLite dialect is below; a PostgreSQL one (``tsvector``, ``ILIKE``) implements the same
three methods.
"""

from __future__ import annotations

from typing import Protocol


class Dialect(Protocol):
    """How one database spells the parts of a query that are not plain SQL."""

    def text_match(self, *, correlated: bool) -> str:
        """A condition on conversation ``c`` true when one of its messages matches the
        full-text expression bound as its one ``?`` parameter (built with :meth:`fts_term`
        and :meth:`fts_join`). ``correlated``: checked row by row as the queue is walked
        (fast when many messages match); otherwise the matches are listed first (fast when
        few do)."""
        ...

    #: Counts the messages matching a full-text expression (``?``), up to a cap (``?``).
    estimate_sql: str

    def fts_term(self, text: str, *, phrase: bool, prefix: bool, column: str | None) -> str:
        """One full-text term: a word (``prefix``: matches its beginnings) or a phrase,
        optionally limited to one indexed column (``subject``). Empty when ``text`` holds
        nothing the index stores (only punctuation)."""
        ...

    def fts_join(self, terms: list[str], operator: str) -> str:
        """Terms joined by ``AND`` or ``OR`` in the full-text syntax."""
        ...

    def contains(self, column: str) -> str:
        """``column`` contains the parameter (a ``%…%`` pattern), ignoring ASCII case."""
        ...


class SqliteDialect:
    """FTS5 over ``messages_fts`` (its rowid is ``messages.search_key``), ``LIKE``."""

    estimate_sql = (
        "SELECT count(*) FROM (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?)"
    )

    def text_match(self, *, correlated: bool) -> str:
        if correlated:
            return (
                "EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND EXISTS"
                " (SELECT 1 FROM messages_fts f WHERE f.rowid = m.search_key"
                " AND messages_fts MATCH ?))"
            )
        return (
            "c.id IN (SELECT m.conversation_id FROM messages m WHERE m.search_key IN"
            " (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?))"
        )

    def fts_term(self, text: str, *, phrase: bool, prefix: bool, column: str | None) -> str:
        if not any(char.isalnum() for char in text):
            return ""
        # Quoted, so FTS5 keywords and its punctuation (-, :, ^) are literal.
        term = '"' + text.replace('"', '""') + '"' + ("*" if prefix and not phrase else "")
        return f"{column} : {term}" if column else term

    def fts_join(self, terms: list[str], operator: str) -> str:
        return f" {operator} ".join(f"({term})" if " " in term else term for term in terms)

    def contains(self, column: str) -> str:
        return f"{column} LIKE ? ESCAPE '\\'"


SQLITE = SqliteDialect()
