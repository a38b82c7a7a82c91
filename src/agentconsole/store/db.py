"""What the store's shared functions (queries, actions, ingest) see of a backend's
connection: :class:`Db`, a DB-API-like connection speaking portable SQL with ``?``
parameters, its :class:`~.dialect.Dialect` for what cannot be portable, and
:meth:`Db.transaction` for a write. Each backend (``sqlite/``, ``postgres/``) provides one,
so a business rule — reopen on a customer reply, the reply collision check, the dedupe
identity — is written once, above the dialect.

Portable SQL here means: ``?`` parameters; ``INSERT … ON CONFLICT … DO NOTHING/DO UPDATE``
(never ``OR IGNORE``); ``RETURNING id`` (never ``lastrowid``); ``CASE`` (never the
two-argument ``max``/``min``); times as REAL Unix seconds computed in Python; booleans as
INTEGER 0/1.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .dialect import Dialect


class Cursor(Protocol):
    """The result of one statement: rows as tuples."""

    @property
    def rowcount(self) -> int:
        """Rows changed by an INSERT, UPDATE or DELETE."""
        ...

    @property
    def description(self) -> Any:
        """The DB-API description of the result's columns (``[0]`` is each name)."""
        ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """One connection of a backend, used by one thread at a time.

    Outside :meth:`transaction` every statement commits on its own (reads see the latest
    committed state). Errors are the driver's; the store translates them into
    :class:`~agentconsole.errors.StoreError` at its edge.
    """

    @property
    def dialect(self) -> Dialect:
        """How this backend spells what is not portable (full-text search, large values)."""
        ...

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def transaction(
        self, *, row_locks: bool = False, keys: Collection[str] | None = None
    ) -> AbstractContextManager[Any]:
        """A write transaction: committed when the block ends, rolled back on any exception.
        It holds the store's write lock up front (SQLite: ``BEGIN IMMEDIATE``;
        PostgreSQL: a transaction-level advisory lock), so a check followed by a write
        inside it cannot race another writer.

        ``row_locks``: on PostgreSQL, no store-wide lock — the block locks the rows it
        reads for writing itself (:meth:`~.dialect.Dialect.row_lock`) and runs beside
        other writers (an outbox claim never waits for a long ingest batch). Only for a
        block whose every check-then-write is on rows it locks that way. SQLite has one
        writer at a time anyway: there it is the same as a write transaction.

        ``keys``: on PostgreSQL, the block runs beside other blocks given keys when they
        share none of its keys (it waits for those that do), and still excludes every
        write transaction given none — for a block whose checks-then-writes all go
        through something its keys name, or through rows it locks, or that first calls
        :meth:`~.dialect.Dialect.exclusive` (ingest: :mod:`.batch_keys`). On SQLite the
        same as a write transaction."""
        ...
