"""The SQLite dialect: FTS5 over a contentless ``messages_fts`` (its rowid is
``messages.search_key``, so newest-first walks the index in order), ``LIKE``, and raw
messages written slice by slice into a ``zeroblob``."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import sqlite3

    from ..db import Db

from ... import processes

_SLICE = 1 << 20
#: The page cache while a large message is written (KiB, as ``PRAGMA cache_size`` takes it):
#: a 27 MB mail would otherwise sit in the 64 MiB cache as dirty pages until the commit.
LARGE_WRITE_CACHE_KIB = 4096


class SqliteDialect:
    keyed_writers = False
    index_hints = True
    name = "sqlite"

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

    def newest_hits(self, select: str, where: str) -> str:
        return (
            f"SELECT {select} FROM messages_fts f"
            " JOIN messages m ON m.search_key = f.rowid"
            " JOIN conversations c ON c.id = m.conversation_id"
            f" WHERE messages_fts MATCH ? AND {where}"
            " ORDER BY f.rowid DESC LIMIT ?"
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

    def position_of(self, column: str) -> str:
        return f"instr(lower({column}), ?)"  # SQLite's lower() folds ASCII letters only

    def index_message(self, db: Db, search_key: int, subject: str, body: str, author: str) -> None:
        db.execute(
            "INSERT INTO messages_fts(rowid, subject, body, author) VALUES (?, ?, ?, ?)",
            (search_key, subject, body, author),
        )

    def index_messages(self, db: Db, entries: Sequence[tuple[int, str, str, str]]) -> None:
        db.executemany(
            "INSERT INTO messages_fts(rowid, subject, body, author) VALUES (?, ?, ?, ?)", entries
        )

    def search_index_pieces(self, db: Db) -> int:
        # FTS5's %_idx shadow table has a row per segment and leaf range: counting its
        # segment ids reads a few thousand rows at 500,000 messages (about 1 ms).
        return int(db.execute("SELECT count(DISTINCT segid) FROM messages_fts_idx").fetchone()[0])

    def merge_search_index(self, db: Db, pages: int) -> None:
        # A negative page budget: merge every segment into one (FTS5's incremental
        # 'optimize'), stopping after about that much work; called again, it goes on.
        db.execute(
            "INSERT INTO messages_fts(messages_fts, rank) VALUES ('merge', ?)", (-abs(pages),)
        )

    def unindex_message(
        self, db: Db, search_key: int, subject: str, body: str, author: str
    ) -> None:
        # A contentless FTS5 table forgets a row when told what it indexed.
        db.execute(
            "INSERT INTO messages_fts(messages_fts, rowid, subject, body, author)"
            " VALUES ('delete', ?, ?, ?, ?)",
            (search_key, subject, body, author),
        )

    def write_raw(self, db: Db, message_id: int, raw: bytes) -> None:
        from ..writes import LARGE_BYTES  # here: a read-only command never loads the writes

        if len(raw) <= LARGE_BYTES:
            db.execute("INSERT INTO raw_messages(message_id, raw) VALUES (?, ?)", (message_id, raw))
            return
        db.execute(
            "INSERT INTO raw_messages(message_id, raw) VALUES (?, zeroblob(?))",
            (message_id, len(raw)),
        )
        view = memoryview(raw)
        with cast("sqlite3.Connection", db).blobopen("raw_messages", "raw", message_id) as blob:
            for start in range(0, len(raw), _SLICE):
                blob.write(view[start : start + _SLICE])

    @contextmanager
    def large_write(self, db: Db, needed: bool) -> Iterator[None]:
        # A small page cache: the pages of a large message go to the WAL as they fill
        # instead of piling up in memory as dirty pages until the commit.
        if not needed:
            yield
            return
        (previous,) = db.execute("PRAGMA cache_size").fetchone()
        db.execute(f"PRAGMA cache_size = -{LARGE_WRITE_CACHE_KIB}")
        try:
            yield
        finally:
            db.execute(f"PRAGMA cache_size = {int(previous)}")

    def after_copy(self, db: Db, tables: tuple[str, ...]) -> None:
        pass  # an INTEGER PRIMARY KEY continues after the largest id by itself

    def reserve_ids(self, db: Db, table: str, count: int, *, above: int = 0) -> list[int]:
        # An INTEGER PRIMARY KEY given by default is the largest plus one: the write
        # transaction holds the file, so the ids after the largest stay free until then.
        # After a first reservation no row above it can exist (rows since took reserved
        # ids): the next ids follow it without a statement.
        if above:
            return list(range(above + 1, above + 1 + count))
        (top,) = db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
        first = int(top) + 1
        return list(range(first, first + count))

    def row_lock(self, table: str, *, skip_locked: bool) -> str:
        return ""

    def exclusive(self, db: Db) -> None:
        pass  # the write transaction holds the file's write lock already

    def serialize(self, db: Db, name: str) -> None:
        pass

    def session_account(self, db: Db) -> str:
        # A file has no sessions: the process's own account, as the permissions enforce.
        return _unix_account()

    def table_names(self, db: Db) -> list[str]:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [n for n in names if not n.startswith(("sqlite_", "messages_fts"))]


@functools.cache
def _unix_account() -> str:
    return processes.unix_account()


SQLITE = SqliteDialect()
