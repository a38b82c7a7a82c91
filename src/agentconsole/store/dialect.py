"""What differs between the backends' SQL, in one small protocol: full-text matching and
indexing, case-insensitive comparison, and large values. Time arithmetic is done in Python
(the compiler passes ``now - duration`` as a parameter), so it needs nothing here.

Each backend implements it beside its connection: ``sqlite/dialect.py`` (FTS5, ``LIKE``,
incremental blobs) and ``postgres/dialect.py`` (``tsvector``, ``ILIKE``, ``bytea``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .db import Db


class Dialect(Protocol):
    """How one database spells the parts of the store's SQL that are not portable."""

    #: The backend's name, as ``--store`` and the bench print it.
    name: str
    #: Whether write transactions given keys run beside each other (see
    #: :meth:`~.db.Db.transaction`): worth computing an ingest batch's keys for.
    keyed_writers: bool
    #: Whether the compiler should keep a common condition's column off its index for a
    #: top N in queue order (``+column``: SQLite's planner needs the hint, PostgreSQL's
    #: estimates rows itself).
    index_hints: bool

    def text_match(self, *, correlated: bool) -> str:
        """A condition on conversation ``c`` true when one of its messages matches the
        full-text expression bound as its one ``?`` parameter (built with :meth:`fts_term`
        and :meth:`fts_join`). ``correlated``: checked row by row as the queue is walked
        (fast when many messages match); otherwise the matches are listed first (fast when
        few do)."""
        ...

    #: Counts the messages matching a full-text expression (``?``), up to a cap (``?``).
    estimate_sql: str

    def newest_hits(self, select: str, where: str) -> str:
        """A statement selecting ``select`` (over messages ``m`` and conversations ``c``)
        for the messages matching the full-text expression (the first ``?``) in
        conversations meeting ``where``, newest first, at most the last ``?``."""
        ...

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

    def position_of(self, column: str) -> str:
        """Where the parameter (lower-cased) first occurs in ``column``: a 1-based position
        in characters, 0 when absent; ASCII letters of ``column`` compared
        case-insensitively, every other character as it is — the same answer on every
        backend (search snippets are placed with it)."""
        ...

    def index_message(self, db: Db, search_key: int, subject: str, body: str, author: str) -> None:
        """Add a message to the full-text index under its ``search_key``."""
        ...

    def index_messages(self, db: Db, entries: Sequence[tuple[int, str, str, str]]) -> None:
        """:meth:`index_message` for each ``(search_key, subject, body, author)`` of
        ``entries``, in as few statements as the backend allows (a batch's messages)."""
        ...

    def unindex_message(
        self, db: Db, search_key: int, subject: str, body: str, author: str
    ) -> None:
        """Remove a message (as it was indexed) from the full-text index."""
        ...

    def search_index_pieces(self, db: Db) -> int:
        """How many pieces the full-text index is in: every lookup of a word reads each
        piece (SQLite FTS5's segments); 1 where the index is one structure (PostgreSQL's
        GIN, which autovacuum keeps)."""
        ...

    def merge_search_index(self, db: Db, pages: int) -> None:
        """About ``pages`` pages of work merging the index's pieces into one, in the
        current write transaction (nothing where :meth:`search_index_pieces` is always
        1)."""
        ...

    def write_raw(self, db: Db, message_id: int, raw: bytes) -> None:
        """Keep a message's original bytes (``raw_messages``) without a second copy in
        memory where the database allows it."""
        ...

    def large_write(self, db: Db, needed: bool) -> AbstractContextManager[None]:
        """Around writing a large message: whatever keeps the database's memory flat."""
        ...

    def after_copy(self, db: Db, tables: tuple[str, ...]) -> None:
        """After rows were copied in with their ids: make new ids follow the copied ones."""
        ...

    def reserve_ids(self, db: Db, table: str, count: int, *, above: int = 0) -> list[int]:
        """``count`` new ids of ``table``, increasing, that no row has or will be given by
        default, for rows the caller inserts with their id given (several in one
        ``executemany`` instead of one ``INSERT … RETURNING id`` each). Inside a write
        transaction; ``above``: the largest id the caller reserved before in it (its rows
        may not be written yet). On SQLite only until the transaction inserts a row into
        ``table`` without giving its id; ids reserved but not used are given out again
        there, lost on PostgreSQL (a sequence's gap)."""
        ...

    def table_names(self, db: Db) -> list[str]:
        """The store's own tables (not the search index's or the schema version's)."""
        ...

    def row_lock(self, table: str, *, skip_locked: bool) -> str:
        """The clause ending a ``SELECT`` that locks the rows of ``table`` (its alias) it
        returns until the transaction ends (PostgreSQL ``FOR UPDATE OF``; with
        ``skip_locked`` rows another transaction holds are left out instead of waited
        for). Empty on SQLite, whose write transaction already excludes every other
        writer."""
        ...

    def exclusive(self, db: Db) -> None:
        """From here to the end of the write transaction no other writer runs: for a
        write reaching beyond the keys its transaction was given (see
        :meth:`~.db.Db.transaction`), such as a contact merge during ingest. It waits for
        the writers running beside this one to finish. Nothing on SQLite, whose write
        transaction already excludes every other writer."""
        ...

    def serialize(self, db: Db, name: str) -> None:
        """Until the write transaction ends, no other transaction that serializes on
        ``name`` runs: for something every writer appends to in order whatever its keys
        (the audit chain). Nothing on SQLite."""
        ...

    def session_account(self, db: Db) -> str:
        """The account audit entries record for work done over ``db``: on SQLite the Unix
        account of this process (from its effective uid); on PostgreSQL the session's login
        role, which the server itself writes into every agent's audit row (a trigger), so
        no client can choose it."""
        ...
