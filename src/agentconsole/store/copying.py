"""Copying a store into another backend (``agentconsole store migrate SRC DST``), table by
table in key order, one transaction per batch, so an interrupted copy resumes where it
stopped: the destination always holds a prefix of each table, and a batch already there is
skipped (``ON CONFLICT DO NOTHING``). Search entries are rebuilt by the destination's own
dialect; raw messages and attachments are checked by SHA-256 at the end."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .db import Db


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    #: The primary key, the order rows are copied in.
    key: tuple[str, ...]
    #: A bytes column whose content is checked by digest after the copy.
    checked: str | None = None


#: Every table of the schema, parents before children (foreign keys hold at every batch).
#: ``tests/store/test_store_migrate.py`` fails when a table is missing here.
TABLES = (
    Table("channels", ("id",)),
    Table("contacts", ("id",)),
    Table("identities", ("id",)),
    Table("contact_merges", ("id",)),
    Table("conversations", ("id",)),
    Table("conversation_tags", ("conversation_id", "tag")),
    Table("messages", ("id",)),
    Table("message_refs", ("message_id", "external_id")),
    Table("raw_messages", ("message_id",), checked="raw"),
    Table("blobs", ("sha256",), checked="data"),
    Table("attachments", ("id",)),
    Table("outbox", ("id",)),
    Table("outbox_followups", ("outbox_id",)),
    Table("drafts", ("conversation_id", "agent", "kind")),
    Table("audit_log", ("id",)),
    Table("saved_views", ("name",)),
    Table("store_settings", ("key",)),
    Table("contact_claims", ("contact_id", "namespace", "address")),
    Table("threading_changes", ("id",)),
    Table("conversation_redirects", ("conversation_id",)),
    Table("rule_rotation", ("team",)),
    Table("rule_hooks", ("id",)),
    Table("blocked_senders", ("channel_id", "namespace", "address")),
    Table("sla_settings", ("name",)),
)
#: Tables whose ``id`` the database generates (its sequence moves past the copied ids).
GENERATED_IDS = tuple(t.name for t in TABLES if t.key == ("id",))


def count(db: Db, table: Table) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])


def last_key(db: Db, table: Table) -> tuple[Any, ...] | None:
    """The key of the last row the destination holds (where a resumed copy goes on)."""
    order = ", ".join(f"{column} DESC" for column in table.key)
    row = db.execute(
        f"SELECT {', '.join(table.key)} FROM {table.name} ORDER BY {order} LIMIT 1"
    ).fetchone()
    return tuple(row) if row else None


def read_batch(
    db: Db, table: Table, after: tuple[Any, ...] | None, limit: int
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, up to ``limit`` rows after key ``after``) in key order."""
    key = ", ".join(table.key)
    where = ""
    params: list[Any] = []
    if after is not None:
        where = f" WHERE ({key}) > ({', '.join('?' * len(after))})"
        params = list(after)
    cursor = db.execute(
        f"SELECT * FROM {table.name}{where} ORDER BY {key} LIMIT ?", (*params, limit)
    )
    rows = [tuple(row) for row in cursor.fetchall()]
    return [d[0] for d in cursor.description], rows


def write_batch(db: Db, table: Table, columns: list[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (those already there are left alone) in one transaction; messages
    are indexed for search by this store's dialect."""
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    with db.transaction():
        for row in rows:
            inserted = db.execute(
                f"INSERT INTO {table.name}({names}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                row,
            ).rowcount
            if inserted and table.name == "messages":
                value = dict(zip(columns, row, strict=True))
                db.dialect.index_message(
                    db, value["search_key"], value["subject"], value["body"], value["author_name"]
                )


def finish(db: Db) -> None:
    """After copying: let the destination generate ids after the copied ones."""
    with db.transaction():
        db.dialect.after_copy(db, GENERATED_IDS)


def digest(db: Db, table: Table) -> str:
    """A SHA-256 over the checked column of every row, in key order."""
    assert table.checked is not None
    total = hashlib.sha256()
    key = ", ".join(table.key)
    for row in db.execute(f"SELECT {key}, {table.checked} FROM {table.name} ORDER BY {key}"):
        *keys, data = row
        total.update(repr(tuple(keys)).encode())
        total.update(hashlib.sha256(bytes(data)).digest())
    return total.hexdigest()


def schema_tables(db: Db) -> set[str]:
    """The store's tables as the backend lists them (for the completeness check)."""
    return set(db.dialect.table_names(db))
