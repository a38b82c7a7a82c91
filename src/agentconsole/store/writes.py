"""The writes every path shares, written once: a message with its search entry, references,
raw bytes and attachments (ingest, notes and replies all store messages this way), and an
audit entry. Callers hold the write transaction."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import audit_chain
from .db import Db

if TYPE_CHECKING:
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
    #: Why it joined its conversation: a code of :mod:`agentconsole.thread_reasons` and
    #: what it names.
    thread_reason: str | None = None
    thread_reason_detail: str | None = None
    #: ``bot`` or ``agent`` for an outbound line seen on the channel; ``None`` otherwise.
    author_role: str | None = None
    #: Its search key when the caller allocated one (a batch does, for all its messages at
    #: once); else :func:`allocate_search_key` picks it.
    search_key: int | None = None


def search_key_for(sent_at: float) -> int:
    """The search key of a message sent at ``sent_at`` when no other message has it."""
    return int(sent_at * 1_000_000)


def allocate_search_key(conn: Db, sent_at: float) -> int:
    """A unique, time-ordered integer for the message (microseconds, bumped on collision)."""
    key = search_key_for(sent_at)
    while conn.execute("SELECT 1 FROM messages WHERE search_key = ?", (key,)).fetchone():
        key = _after_taken(conn, key)
    return key


def _after_taken(conn: Db, key: int) -> int:
    """The key after those taken in the second from ``key`` on: one probe however many
    messages share a time (a thousand mails with a bogus Date all get the arrival time)."""
    (top,) = conn.execute(
        "SELECT max(search_key) FROM messages WHERE search_key >= ? AND search_key < ?",
        (key, key + 1_000_000),
    ).fetchone()
    return int(top) + 1


def store_blob(conn: Db, data: bytes) -> str:
    """Store ``data`` once by its SHA-256 (however many messages carry it); returns the hash."""
    digest = hashlib.sha256(data).hexdigest()
    # Measured (bench/attachment_memory.py): this insert sets the peak of a mail with a 20 MB
    # attachment, at twice its size (the driver's copy of the parameter and SQLite's record).
    # Writing it in slices, as the raw bytes are, needs a blobs table with rowids (a
    # migration); the peak is within its target without it.
    conn.execute(
        "INSERT INTO blobs(sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (digest, len(data), data),
    )
    return digest


#: A message whose raw bytes and attachments together pass this is a large write (see
#: :meth:`~.dialect.Dialect.large_write`).
LARGE_BYTES = 1 << 20


#: What the search index holds of a message: its search key, subject, body and author.
SearchEntry = tuple[int, str, str, str]

#: The columns of ``messages`` :func:`insert_message` writes, in the order of
#: :func:`_message_row`.
_MESSAGE_COLUMNS = (
    "conversation_id",
    "channel_id",
    "external_id",
    "content_digest",
    "direction",
    "author_name",
    "author_namespace",
    "author_address",
    "contact_id",
    "agent",
    "sent_at",
    "created_at",
    "subject",
    "body",
    "automated",
    "parse_note",
    "url",
    "in_reply_to",
    "participants",
    "author_role",
    "search_key",
    "thread_reason",
    "thread_reason_detail",
)
_INSERT_MESSAGE = (
    f"INSERT INTO messages({', '.join(_MESSAGE_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_MESSAGE_COLUMNS))}) RETURNING id"
)
_INSERT_MESSAGE_WITH_ID = (
    f"INSERT INTO messages(id, {', '.join(_MESSAGE_COLUMNS)})"
    f" VALUES (?, {', '.join('?' * len(_MESSAGE_COLUMNS))})"
)
#: The columns of a conversation a batch opens (:meth:`DeferredWrites.open_conversation`).
CONVERSATION_COLUMNS = (
    "channel_id",
    "thread_key",
    "contact_id",
    "subject",
    "preview",
    "created_at",
    "updated_at",
    "last_message_at",
    "url",
    "message_count",
    "waiting_since",
    "first_response_at",
)
_INSERT_CONVERSATION = (
    f"INSERT INTO conversations(id, {', '.join(CONVERSATION_COLUMNS)})"
    f" VALUES (?, {', '.join('?' * len(CONVERSATION_COLUMNS))})"
)
_INSERT_RAW = "INSERT INTO raw_messages(message_id, raw) VALUES (?, ?)"
_INSERT_ATTACHMENT = (
    "INSERT INTO attachments(message_id, filename, content_type, size, sha256)"
    " VALUES (?, ?, ?, ?, ?)"
)
_INSERT_REFERENCES = (
    "INSERT INTO message_refs(message_id, external_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
)


def _message_row(message: NewMessage, search_key: int) -> tuple[Any, ...]:
    return (
        message.conversation_id,
        message.channel_id,
        message.external_id,
        message.content_digest,
        message.direction,
        message.author_name,
        message.author_namespace,
        message.author_address,
        message.contact_id,
        message.agent,
        message.sent_at,
        message.created_at,
        message.subject,
        message.body,
        int(message.automated),
        message.parse_note,
        message.url,
        message.in_reply_to,
        message.participants,
        message.author_role,
        search_key,
        message.thread_reason,
        message.thread_reason_detail,
    )


class DeferredWrites:
    """The rows of a batch written at the batch's end (see :func:`insert_message`): the
    conversations it opens (:meth:`open_conversation`) and its messages with their raw
    bytes and attachment rows (:meth:`flush_rows`), their search entries and references.
    The ids are reserved up front (:meth:`~.dialect.Dialect.reserve_ids`), so a row's id is
    known before it is written. ``flush_rows`` must run before the transaction reads or
    changes those ``conversations`` or ``messages`` rows (:meth:`pending_conversation`
    says whether one is still pending); ``flush`` before it reads the search index or
    ``message_refs``, or ends.

    On SQLite this is what makes a batch cheap: every write statement in a transaction
    that holds unflushed FTS5 entries makes FTS5 flush them to disk as a segment of its
    own (its savepoint handler), so indexing message by message wrote one tiny segment per
    message and merged them over and over; rows of one table go in one ``executemany``
    (half the CPU of an ``INSERT … RETURNING id`` each)."""

    __slots__ = (
        "attachments",
        "conversations",
        "messages",
        "raw",
        "references",
        "search",
        "_ids",
        "_expected",
        "_pending_conversations",
        "_reserved",
    )

    def __init__(self, expected: int = 1) -> None:
        self.conversations: list[tuple[Any, ...]] = []
        self.messages: list[tuple[Any, ...]] = []
        self.raw: list[tuple[int, bytes]] = []
        self.attachments: list[tuple[int, str, str, int, str]] = []
        self.search: list[SearchEntry] = []
        self.references: list[tuple[int, str]] = []
        #: Reserved ids by table, the next one last, and the largest reserved.
        self._ids: dict[str, list[int]] = {"conversations": [], "messages": []}
        self._reserved = dict.fromkeys(self._ids, 0)
        #: How many ids a reservation of each table takes: for messages the batch's size
        #: (nearly all are stored); conversations one at a time, as people see their ids
        #: and on PostgreSQL an unused one is a gap.
        self._expected = {"conversations": 1, "messages": max(expected, 1)}
        self._pending_conversations: set[int] = set()

    def next_id(self, conn: Db, table: str = "messages") -> int:
        """The id of the next row of ``table`` (``messages`` or ``conversations``),
        reserved (more when the reservation ran out)."""
        ids = self._ids[table]
        if not ids:
            taken = conn.dialect.reserve_ids(
                conn, table, self._expected[table], above=self._reserved[table]
            )
            self._reserved[table] = taken[-1]
            ids += reversed(taken)
        return ids.pop()

    def open_conversation(self, conn: Db, values: Sequence[Any]) -> int:
        """A new conversation with ``values`` (the columns of :data:`CONVERSATION_COLUMNS`),
        written with the batch's messages; returns its id."""
        conversation_id = self.next_id(conn, "conversations")
        self.conversations.append((conversation_id, *values))
        self._pending_conversations.add(conversation_id)
        return conversation_id

    def pending_conversation(self, conversation_id: int) -> bool:
        """Whether ``conversation_id`` is a conversation this batch opened and has not
        written yet."""
        return conversation_id in self._pending_conversations

    def flush_rows(self, conn: Db) -> None:
        """Write the pending conversations and messages (with their raw bytes and
        attachments; each table after those it refers to), and forget them."""
        if self.conversations:
            conn.executemany(_INSERT_CONVERSATION, self.conversations)
            self.conversations.clear()
            self._pending_conversations.clear()
        if self.messages:
            conn.executemany(_INSERT_MESSAGE_WITH_ID, self.messages)
            self.messages.clear()
        if self.raw:
            conn.executemany(_INSERT_RAW, self.raw)
            self.raw.clear()
        if self.attachments:
            conn.executemany(_INSERT_ATTACHMENT, self.attachments)
            self.attachments.clear()

    def index(self, message_id: int, search_key: int, message: NewMessage) -> None:
        """Leave the search entry and references of stored ``message`` for :meth:`flush`."""
        self.search.append((search_key, message.subject, message.body, message.author_name))
        self.references += ((message_id, reference) for reference in message.references)

    def flush(self, conn: Db) -> None:
        """Write everything deferred, and forget it."""
        self.flush_rows(conn)
        if self.references:
            conn.executemany(_INSERT_REFERENCES, self.references)
        conn.dialect.index_messages(conn, self.search)
        self.references.clear()
        self.search.clear()


def insert_message(conn: Db, message: NewMessage, *, deferred: DeferredWrites | None = None) -> int:
    """Store ``message``, index it for search and store its references, raw bytes and
    attachments; returns the new message id. Does not touch the conversation's counters.
    With ``deferred`` its rows are left there for the caller to write
    (:class:`DeferredWrites`), but for a large message's (written at once, slice by slice)."""
    search_key = message.search_key
    if search_key is None:
        search_key = allocate_search_key(conn, message.sent_at)
    row = _message_row(message, search_key)
    large = len(message.raw or b"") + sum(len(a.data) for a in message.attachments)
    if deferred is not None and large <= LARGE_BYTES:
        message_id = deferred.next_id(conn)
        deferred.messages.append((message_id, *row))
        if message.raw is not None:
            deferred.raw.append((message_id, message.raw))
        deferred.attachments += (
            (message_id, a.filename, a.content_type, len(a.data), store_blob(conn, a.data))
            for a in message.attachments
        )
        deferred.index(message_id, search_key, message)
        return message_id
    dialect = conn.dialect
    if deferred is not None:
        message_id = deferred.next_id(conn)
        deferred.flush_rows(conn)  # its attachments follow at once, after their message
        conn.execute(_INSERT_MESSAGE_WITH_ID, (message_id, *row))
        deferred.index(message_id, search_key, message)
    else:
        (message_id,) = conn.execute(_INSERT_MESSAGE, row).fetchone()
        dialect.index_message(conn, search_key, message.subject, message.body, message.author_name)
        if message.references:
            conn.executemany(
                _INSERT_REFERENCES, [(message_id, reference) for reference in message.references]
            )
    with dialect.large_write(conn, large > LARGE_BYTES):
        if message.raw is not None:
            dialect.write_raw(conn, message_id, message.raw)
        for attachment in message.attachments:
            conn.execute(
                _INSERT_ATTACHMENT,
                (
                    message_id,
                    attachment.filename,
                    attachment.content_type,
                    len(attachment.data),
                    store_blob(conn, attachment.data),
                ),
            )
    return int(message_id)


def delete_message(conn: Db, message_id: int) -> None:
    """Remove a message with everything stored beside it (search entry, references, raw
    bytes, attachment rows; a blob other messages share stays). The caller fixes the
    conversation's counters and holds the write transaction."""
    row = conn.execute(
        "SELECT search_key, subject, body, author_name FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    if row is None:
        return
    conn.dialect.unindex_message(conn, *row)
    for table in ("message_refs", "raw_messages", "attachments"):
        conn.execute(f"DELETE FROM {table} WHERE message_id = ?", (message_id,))
    conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))


#: One audit entry of :func:`audit_many`: the action, its conversation and its detail.
Audited = tuple[str, int | None, dict[str, Any] | None]


def audit(
    conn: Db,
    agent: str,
    action: str,
    conversation_id: int | None,
    detail: dict[str, Any] | None = None,
    now: float | None = None,
) -> None:
    """Record that ``agent`` (an account, or ``"system"`` for the core) did ``action``, with
    the account doing the work beside it (the Unix account of this process, or on
    PostgreSQL the session's role: see :meth:`.dialect.Dialect.session_account`), linked
    into the audit chain (:mod:`.audit_chain`)."""
    audit_many(conn, agent, [(action, conversation_id, detail)], now)


def audit_many(conn: Db, agent: str, entries: Sequence[Audited], now: float | None = None) -> None:
    """:func:`audit` for each of ``entries``, in order, at one time (a bulk action)."""
    if not entries:
        return
    at = now or time.time()
    account = conn.dialect.session_account(conn)
    audit_chain.append_many(
        conn,
        [
            audit_chain.NewEntry(
                at, agent, account, action, conversation_id, json.dumps(detail or {})
            )
            for action, conversation_id, detail in entries
        ],
    )
