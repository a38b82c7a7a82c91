"""The PostgreSQL dialect: a ``tsvector`` per message in ``message_search`` (GIN-indexed,
keyed by the time-ordered search key), ``ILIKE``, ``bytea``."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from . import words

if TYPE_CHECKING:
    from ..db import Db

_MATCH = "s.document @@ CAST(? AS tsquery)"


class PostgresDialect:
    keyed_writers = True
    index_hints = False
    name = "postgresql"

    estimate_sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM message_search s WHERE {_MATCH} LIMIT ?) AS found"
    )

    def text_match(self, *, correlated: bool) -> str:
        if correlated:
            return (
                "EXISTS (SELECT 1 FROM messages m JOIN message_search s"
                " ON s.search_key = m.search_key"
                f" WHERE m.conversation_id = c.id AND {_MATCH})"
            )
        return (
            "c.id IN (SELECT m.conversation_id FROM messages m JOIN message_search s"
            f" ON s.search_key = m.search_key WHERE {_MATCH})"
        )

    def newest_hits(self, select: str, where: str) -> str:
        return (
            f"SELECT {select} FROM message_search s"
            " JOIN messages m ON m.search_key = s.search_key"
            " JOIN conversations c ON c.id = m.conversation_id"
            f" WHERE {_MATCH} AND {where}"
            " ORDER BY s.search_key DESC LIMIT ?"
        )

    def fts_term(self, text: str, *, phrase: bool, prefix: bool, column: str | None) -> str:
        return words.term(text, phrase=phrase, prefix=prefix, column=column)

    def fts_join(self, terms: list[str], operator: str) -> str:
        joiner = " & " if operator == "AND" else " | "
        return joiner.join(f"({term})" for term in terms) if len(terms) > 1 else "".join(terms)

    def contains(self, column: str) -> str:
        return f"{column} ILIKE ? ESCAPE '\\'"

    def position_of(self, column: str) -> str:
        # lower() under the "C" collation folds ASCII letters only, as SQLite's does (both
        # must place a snippet alike), and byte by byte: a translate() of the same letters
        # cost 0.1 ms a body, most of a search's time.
        return f'strpos(lower({column} COLLATE "C"), ?)'

    def index_message(self, db: Db, search_key: int, subject: str, body: str, author: str) -> None:
        db.execute(
            "INSERT INTO message_search(search_key, document) VALUES (?, CAST(? AS tsvector))",
            (search_key, words.document(subject, author, body)),
        )

    def index_messages(self, db: Db, entries: Sequence[tuple[int, str, str, str]]) -> None:
        # One statement for the batch: a statement each cost more client time than the
        # server's insert.
        if not entries:
            return
        db.execute(
            "INSERT INTO message_search(search_key, document)"
            " SELECT key, CAST(document AS tsvector)"
            " FROM unnest(CAST(? AS bigint[]), CAST(? AS text[])) AS entry(key, document)",
            (
                [entry[0] for entry in entries],
                [words.document(subject, author, body) for _, subject, body, author in entries],
            ),
        )

    def search_index_pieces(self, db: Db) -> int:
        return 1  # one GIN index; autovacuum folds its pending list in

    def merge_search_index(self, db: Db, pages: int) -> None:
        return None

    def unindex_message(
        self, db: Db, search_key: int, subject: str, body: str, author: str
    ) -> None:
        db.execute("DELETE FROM message_search WHERE search_key = ?", (search_key,))

    def write_raw(self, db: Db, message_id: int, raw: bytes) -> None:
        db.execute("INSERT INTO raw_messages(message_id, raw) VALUES (?, ?)", (message_id, raw))

    def large_write(self, db: Db, needed: bool) -> AbstractContextManager[None]:
        return nullcontext()

    def after_copy(self, db: Db, tables: tuple[str, ...]) -> None:
        for table in tables:
            db.execute(
                "SELECT setval(pg_get_serial_sequence(?, 'id'),"
                f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)",
                (table,),
            )

    def reserve_ids(self, db: Db, table: str, count: int, *, above: int = 0) -> list[int]:
        # Taken from the identity's sequence in one round trip: never given out again.
        rows = db.execute(
            "SELECT nextval(pg_get_serial_sequence(?, 'id'))"
            " FROM generate_series(1, CAST(? AS integer))",
            (table, count),
        )
        return sorted(int(row[0]) for row in rows)

    def row_lock(self, table: str, *, skip_locked: bool) -> str:
        return f" FOR UPDATE OF {table}" + (" SKIP LOCKED" if skip_locked else "")

    def exclusive(self, db: Db) -> None:
        from .connection import WRITER_LOCK

        # Beside the shared hold of a transaction given keys: waits for the others.
        db.execute("SELECT pg_advisory_xact_lock(?)", (WRITER_LOCK,))

    def serialize(self, db: Db, name: str) -> None:
        from .connection import key_lock

        db.execute("SELECT pg_advisory_xact_lock(?)", (key_lock(f"serialize:{name}"),))

    def session_account(self, db: Db) -> str:
        # The login role the server authenticated (psycopg knows it without a round trip);
        # the audit trigger of migration 015 writes the same name whatever a client sends.
        from .connection import PostgresDb

        assert isinstance(db, PostgresDb)
        return db.conn.info.user

    def table_names(self, db: Db) -> list[str]:
        return [
            row[0]
            for row in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename NOT IN ('agentconsole_schema', 'message_search')"
            )
        ]


POSTGRES = PostgresDialect()
