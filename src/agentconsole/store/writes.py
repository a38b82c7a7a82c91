"""The writes every path shares, written once: a message with its search entry, references,
raw bytes and attachments (ingest, notes and replies all store messages this way), and an
audit entry. Callers hold the write transaction."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..plugin import Attachment


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store, one field per column of ``messages`` plus what is stored beside
    it (references, raw bytes, attachments)."""

    conversation_id: int
    channel_id: int
    direction: str
    author_name: str
    sent_at: float
    created_at: float
    subject: str
    body: str
    external_id: str | None = None
    #: See :mod:`.identity`; ``None`` for agents' messages.
    content_digest: str | None = None
    author_namespace: str | None = None
    author_address: str | None = None
    contact_id: int | None = None
    agent: str | None = None
    automated: bool = False
    parse_note: str | None = None
    url: str | None = None
    in_reply_to: str | None = None
    #: The other people it was addressed to, as stored: JSON ``[[namespace, address], …]``.
    participants: str | None = None
    references: tuple[str, ...] = ()
    raw: bytes | None = None
    attachments: tuple[Attachment, ...] = ()
    #: ``bot`` or ``agent`` for an outbound line seen on the channel; ``None`` otherwise.
    author_role: str | None = None


def allocate_search_key(conn: sqlite3.Connection, sent_at: float) -> int:
    """A unique, time-ordered integer for the message (microseconds, bumped on collision)."""
    key = int(sent_at * 1_000_000)
    while conn.execute("SELECT 1 FROM messages WHERE search_key = ?", (key,)).fetchone():
        key += 1
    return key


def store_blob(conn: sqlite3.Connection, data: bytes) -> str:
    """Store ``data`` once by its SHA-256 (however many messages carry it); returns the hash."""
    digest = hashlib.sha256(data).hexdigest()
    # (blobs is WITHOUT ROWID, so no incremental write here; measured: it would not lower
    # the peak of a 20 MB attachment, which the raw copy and the page cache set.)
    conn.execute(
        "INSERT OR IGNORE INTO blobs(sha256, size, data) VALUES (?, ?, ?)",
        (digest, len(data), data),
    )
    return digest


#: A raw message larger than this is written in slices, through a cache made small for it.
LARGE_BYTES = 1 << 20
_SLICE = 1 << 20
#: The page cache while a large message is written (KiB, as ``PRAGMA cache_size`` takes it):
#: a 27 MB mail would otherwise sit in the 64 MiB cache as dirty pages until the commit.
LARGE_WRITE_CACHE_KIB = 4096


def write_raw(conn: sqlite3.Connection, message_id: int, raw: bytes) -> None:
    """Keep a message's original bytes. A large one is written slice by slice into a
    ``zeroblob``, so SQLite never holds a second copy of it."""
    if len(raw) <= LARGE_BYTES:
        conn.execute("INSERT INTO raw_messages(message_id, raw) VALUES (?, ?)", (message_id, raw))
        return
    conn.execute(
        "INSERT INTO raw_messages(message_id, raw) VALUES (?, zeroblob(?))",
        (message_id, len(raw)),
    )
    _write_slices(conn, "raw_messages", "raw", message_id, raw)


def _write_slices(conn: sqlite3.Connection, table: str, column: str, row: int, data: bytes) -> None:
    """``data`` into the ``zeroblob`` of ``table.column`` at rowid ``row``, a slice at a time."""
    view = memoryview(data)
    with conn.blobopen(table, column, row) as blob:
        for start in range(0, len(data), _SLICE):
            blob.write(view[start : start + _SLICE])


@contextmanager
def small_cache(conn: sqlite3.Connection, needed: bool) -> Iterator[None]:
    """While a large message is written, a small page cache: its pages go to the WAL as
    they fill instead of piling up in memory as dirty pages until the commit."""
    if not needed:
        yield
        return
    (previous,) = conn.execute("PRAGMA cache_size").fetchone()
    conn.execute(f"PRAGMA cache_size = -{LARGE_WRITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(previous)}")


def insert_message(conn: sqlite3.Connection, message: NewMessage) -> int:
    """Store ``message``, index it for search and store its references, raw bytes and
    attachments; returns the new message id. Does not touch the conversation's counters."""
    search_key = allocate_search_key(conn, message.sent_at)
    columns: dict[str, Any] = {
        "conversation_id": message.conversation_id,
        "channel_id": message.channel_id,
        "external_id": message.external_id,
        "content_digest": message.content_digest,
        "direction": message.direction,
        "author_name": message.author_name,
        "author_namespace": message.author_namespace,
        "author_address": message.author_address,
        "contact_id": message.contact_id,
        "agent": message.agent,
        "sent_at": message.sent_at,
        "created_at": message.created_at,
        "subject": message.subject,
        "body": message.body,
        "automated": int(message.automated),
        "parse_note": message.parse_note,
        "url": message.url,
        "in_reply_to": message.in_reply_to,
        "participants": message.participants,
        "author_role": message.author_role,
        "search_key": search_key,
    }
    message_id = conn.execute(
        f"INSERT INTO messages({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        tuple(columns.values()),
    ).lastrowid
    assert message_id is not None  # an INSERT always sets it
    conn.execute(
        "INSERT INTO messages_fts(rowid, subject, body, author) VALUES (?, ?, ?, ?)",
        (search_key, message.subject, message.body, message.author_name),
    )
    if message.references:
        conn.executemany(
            "INSERT OR IGNORE INTO message_refs(message_id, external_id) VALUES (?, ?)",
            [(message_id, reference) for reference in message.references],
        )
    large = len(message.raw or b"") + sum(len(a.data) for a in message.attachments)
    with small_cache(conn, large > LARGE_BYTES):
        if message.raw is not None:
            write_raw(conn, message_id, message.raw)
        for attachment in message.attachments:
            conn.execute(
                "INSERT INTO attachments(message_id, filename, content_type, size, sha256)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    message_id,
                    attachment.filename,
                    attachment.content_type,
                    len(attachment.data),
                    store_blob(conn, attachment.data),
                ),
            )
    return message_id


def audit(
    conn: sqlite3.Connection,
    agent: str,
    action: str,
    conversation_id: int | None,
    detail: dict[str, Any] | None = None,
    now: float | None = None,
) -> None:
    """Record that ``agent`` (an account, or ``"system"`` for the core) did ``action``."""
    conn.execute(
        "INSERT INTO audit_log(at, agent, action, conversation_id, detail) VALUES (?, ?, ?, ?, ?)",
        (now or time.time(), agent, action, conversation_id, json.dumps(detail or {})),
    )
