"""Read queries: the queue index, its rows, counts, a conversation, search."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

from .. import views
from ..errors import NotFoundError, UsageError
from ..models import (
    ACTIVE_STATUSES,
    AttachmentRecord,
    AuditEntry,
    ChannelRecord,
    ContactRecord,
    ConversationDetail,
    ConversationRow,
    ConversationTiming,
    IdentityRecord,
    MessageRecord,
    SearchHit,
    View,
)
from ..query import Node, Text, parse
from ..views import Order
from .columns import Columns
from .compile_query import (
    Compiled,
    compile_query,
    estimator,
    row_counter,
    split_text,
    text_expression,
)

#: Conversations still being worked on (``c`` is the conversations table).
ACTIVE = "c.status IN ({})".format(", ".join(f"'{status}'" for status in ACTIVE_STATUSES))

# "What needs an answer first": most urgent, then the customer waiting longest,
# then the most recent activity.
QUEUE_ORDER = (
    "c.priority, c.waiting_since IS NULL, c.waiting_since, c.last_message_at DESC, c.id DESC"
)
RECENT_ORDER = "c.last_message_at DESC, c.id DESC"
SNOOZE_ORDER = "c.snooze_until, c.id"


def _tags(value: str | None) -> tuple[str, ...]:
    return tuple(value.split("\x1f")) if value else ()


_ROW = Columns(
    ConversationRow,
    {
        "id": "c.id",
        "channel": "ch.name",
        "channel_kind": "ch.kind",
        "status": "c.status",
        "priority": "c.priority",
        "assignee": "c.assignee",
        "contact_id": "c.contact_id",
        "contact_name": "co.name",
        "subject": "c.subject",
        "preview": "c.preview",
        "tags": "(SELECT group_concat(tag, char(31)) FROM"
        " (SELECT tag FROM conversation_tags t WHERE t.conversation_id = c.id ORDER BY tag))",
        "created_at": "c.created_at",
        "updated_at": "c.updated_at",
        "last_message_at": "c.last_message_at",
        "waiting_since": "c.waiting_since",
        "snooze_until": "c.snooze_until",
        "message_count": "c.message_count",
        "failed": "EXISTS (SELECT 1 FROM outbox o JOIN messages m ON m.id = o.message_id"
        " WHERE m.conversation_id = c.id AND o.state = 'failed')",
    },
    convert={"tags": _tags, "failed": bool},
)
ROW_FROM = """
    FROM conversations c
    JOIN channels ch ON ch.id = c.channel_id
    JOIN contacts co ON co.id = c.contact_id
"""
_MESSAGE = Columns(
    MessageRecord,
    {
        "id": "m.id",
        "conversation_id": "m.conversation_id",
        "direction": "m.direction",
        "author": "m.author_name",
        "agent": "m.agent",
        "sent_at": "m.sent_at",
        "subject": "m.subject",
        "body": "m.body",
        "external_id": "m.external_id",
        "state": "o.state",
        "error": "o.last_error",
        "attempts": "coalesce(o.attempts, 0)",
        "parse_note": "m.parse_note",
        "automated": "m.automated",
        "url": "m.url",
    },
    convert={"automated": bool},
)
_ATTACHMENT = Columns(
    AttachmentRecord,
    {
        "id": "a.id",
        "filename": "a.filename",
        "content_type": "a.content_type",
        "size": "a.size",
        "sha256": "a.sha256",
    },
)
_CHANNEL_COLUMNS = {
    "id": "ch.id",
    "name": "ch.name",
    "type": "ch.type",
    "kind": "ch.kind",
    "health": "ch.health",
    "health_detail": "ch.health_detail",
    "health_at": "ch.health_at",
    "cursor": "ch.cursor",
    "lease_owner": "ch.lease_owner",
    "lease_expires": "ch.lease_expires",
}
_CHANNEL = Columns(
    ChannelRecord,
    {
        **_CHANNEL_COLUMNS,
        "open_count": f"(SELECT count(*) FROM conversations c WHERE c.channel_id = ch.id AND {ACTIVE})",
    },
)
_CHANNEL_UNCOUNTED = Columns(ChannelRecord, _CHANNEL_COLUMNS)
_HIT = Columns(
    SearchHit,
    {
        "message_id": "m.id",
        "conversation_id": "m.conversation_id",
        "sent_at": "m.sent_at",
        "direction": "m.direction",
        "author": "m.author_name",
        "subject": "m.subject",
    },
)
_AUDIT = Columns(
    AuditEntry,
    {
        "id": "id",
        "at": "at",
        "agent": "agent",
        "action": "action",
        "conversation_id": "conversation_id",
        "detail": "detail",
    },
)
_TIMING = Columns(
    ConversationTiming,
    {
        "channel": "ch.name",
        "channel_kind": "ch.kind",
        "created_at": "c.created_at",
        "first_response_at": "c.first_response_at",
        "resolved_at": "c.resolved_at",
        "replies": "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id"
        " AND m.direction = 'out')",
        "status": "c.status",
        "waiting_since": "c.waiting_since",
    },
)


ORDERS = {
    "urgent": QUEUE_ORDER,
    "recent": RECENT_ORDER,
    "waiting": "c.waiting_since IS NULL, c.waiting_since, c.id",
    "snooze": SNOOZE_ORDER,
}


def compiled(
    conn: sqlite3.Connection, node: Node, agent: str, now: float, *, first_rows: bool = False
) -> Compiled:
    """``node`` as a condition on ``c``, its full-text parts sized against this store; with
    ``first_rows`` (a top N in the queue's order) its field conditions are sized too."""
    rows = row_counter(conn) if first_rows else None
    return compile_query(node, agent=agent, now=now, estimate=estimator(conn), rows=rows)


def select_ids(
    conn: sqlite3.Connection,
    node: Node,
    order: Order,
    agent: str,
    now: float,
    limit: int | None = None,
) -> list[int]:
    """The ids of the conversations ``node`` matches, in ``order``, at most ``limit``."""
    condition = compiled(conn, node, agent, now, first_rows=bool(limit) and order == "urgent")
    tail = f" LIMIT {int(limit)}" if limit else ""
    sql = f"SELECT c.id FROM conversations c WHERE {condition.where} ORDER BY {ORDERS[order]}{tail}"
    return [r[0] for r in conn.execute(sql, condition.params)]


def count_matching(
    conn: sqlite3.Connection, nodes: Mapping[str, Node], agent: str, now: float
) -> dict[str, int]:
    """How many conversations each query matches, by key."""
    counts = {}
    for key, node in nodes.items():
        condition = compiled(conn, node, agent, now)
        sql = f"SELECT count(*) FROM conversations c WHERE {condition.where}"
        counts[key] = int(conn.execute(sql, condition.params).fetchone()[0])
    return counts


def find(
    conn: sqlite3.Connection,
    node: Node,
    order: Order,
    agent: str,
    now: float,
    limit: int | None = None,
) -> list[ConversationRow]:
    """The rows of the conversations ``node`` matches, in ``order`` (the CLI's ``list``)."""
    ids = select_ids(conn, node, order, agent, now, limit)
    rows = conversation_rows(conn, ids)
    return [rows[i] for i in ids if i in rows]


def search_hits(
    conn: sqlite3.Connection, node: Node, agent: str, now: float, limit: int
) -> list[SearchHit]:
    """The ``limit`` newest messages holding the query's words in conversations matching the
    rest of it. The full-text index is read newest first, so the search stops after
    ``limit`` hits instead of sorting all of them."""
    textual, rest = split_text(node)
    expression = text_expression(textual)
    if not expression:
        raise UsageError(
            "search needs words to find (fields alone select conversations: `list QUERY`)"
        )
    condition = compiled(conn, rest, agent, now)
    sql = (
        f"SELECT m.body, {_HIT.sql} FROM messages_fts f"
        " JOIN messages m ON m.search_key = f.rowid"
        " JOIN conversations c ON c.id = m.conversation_id"
        f" WHERE messages_fts MATCH ? AND {condition.where}"
        " ORDER BY f.rowid DESC LIMIT ?"
    )
    words = " ".join(
        t.word if isinstance(t, Text) else str(getattr(t, "value", "")) for t in textual
    )
    rows = conn.execute(sql, (expression, *condition.params, limit)).fetchall()
    return [_HIT.build(columns, snippet=_snippet(body, words)) for body, *columns in rows]


def conversation_ids(
    conn: sqlite3.Connection, view: View, agent: str, limit: int | None = None
) -> list[int]:
    """The ordered ids of a view: the queue's whole in-memory index (or its first
    ``limit``, to paint the first screen before the whole index is read). A search view
    reads the word being typed as a prefix."""
    definition = views.definition(view)
    node = parse(definition.query, prefix_last=view.kind == "search")
    return select_ids(conn, node, definition.order, agent, time.time(), limit)


def conversation_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, ConversationRow]:
    """Rows for a window of the queue, keyed by id (missing ids were deleted or merged)."""
    if not ids:
        return {}
    placeholders = ",".join("?" * len(ids))
    sql = f"SELECT {_ROW.sql} {ROW_FROM} WHERE c.id IN ({placeholders})"
    return {row.id: row for row in (_ROW.build(r) for r in conn.execute(sql, list(ids)))}


def queue_rows(
    conn: sqlite3.Connection, ids: Sequence[int], agent: str
) -> dict[int, ConversationRow]:
    """:func:`conversation_rows`, each marked when ``agent`` has an unsent draft on it."""
    rows = conversation_rows(conn, ids)
    if not rows:
        return rows
    placeholders = ",".join("?" * len(rows))
    drafted = {
        r[0]
        for r in conn.execute(
            f"SELECT conversation_id FROM drafts WHERE agent = ? AND conversation_id IN"
            f" ({placeholders}) AND trim(body) != ''",
            (agent, *rows),
        )
    }
    return {i: replace(row, draft=True) if i in drafted else row for i, row in rows.items()}


def view_counts(conn: sqlite3.Connection, agent: str) -> dict[str, int]:
    """Counts for every sidebar view, keyed by :attr:`View.key`: the built-in views, one
    per channel, one per tag — each the count of the view's own query."""
    definitions = list(views.BUILT_IN)
    definitions += [views.channel_view(r[0]) for r in conn.execute("SELECT name FROM channels")]
    definitions += [views.tag_view(tag) for tag in all_tags(conn)]
    nodes = {d.key: parse(d.query) for d in definitions}
    return count_matching(conn, nodes, agent, time.time())


def all_tags(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT tag FROM conversation_tags ORDER BY tag")]


def channels(conn: sqlite3.Connection, with_counts: bool = True) -> list[ChannelRecord]:
    """Every channel with its health, lease and (unless ``with_counts`` is off, for callers
    that have counts already) how many conversations are open or pending."""
    columns = _CHANNEL if with_counts else _CHANNEL_UNCOUNTED
    rows = conn.execute(f"SELECT {columns.sql} FROM channels ch ORDER BY ch.name")
    return [columns.build(r) for r in rows]


def contact(conn: sqlite3.Connection, contact_id: int) -> ContactRecord:
    row = conn.execute("SELECT id, name FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no contact {contact_id}")
    identities = tuple(
        IdentityRecord(namespace=namespace, address=address)
        for namespace, address in conn.execute(
            "SELECT namespace, address FROM identities WHERE contact_id = ? ORDER BY id",
            (contact_id,),
        )
    )
    return ContactRecord(id=row[0], name=row[1], identities=identities)


def _messages(conn: sqlite3.Connection, conversation_id: int) -> tuple[MessageRecord, ...]:
    attachments: dict[int, list[AttachmentRecord]] = {}
    for message_id, *values in conn.execute(
        f"SELECT a.message_id, {_ATTACHMENT.sql}"
        " FROM attachments a JOIN messages m ON m.id = a.message_id"
        " WHERE m.conversation_id = ? ORDER BY a.id",
        (conversation_id,),
    ):
        attachments.setdefault(message_id, []).append(_ATTACHMENT.build(values))
    rows = conn.execute(
        f"SELECT m.id, {_MESSAGE.sql}"
        " FROM messages m LEFT JOIN outbox o ON o.message_id = m.id"
        " WHERE m.conversation_id = ? ORDER BY m.sent_at, m.id",
        (conversation_id,),
    )
    return tuple(
        _MESSAGE.build(values, attachments=tuple(attachments.get(message_id, ())))
        for message_id, *values in rows
    )


def conversation_detail(conn: sqlite3.Connection, conversation_id: int) -> ConversationDetail:
    rows = conversation_rows(conn, [conversation_id])
    if conversation_id not in rows:
        raise NotFoundError(f"no conversation {conversation_id}")
    row = rows[conversation_id]
    channel_type, first_response_at, resolved_at, url = conn.execute(
        "SELECT ch.type, c.first_response_at, c.resolved_at, c.url FROM conversations c"
        " JOIN channels ch ON ch.id = c.channel_id WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    others = [
        _ROW.build(r)
        for r in conn.execute(
            f"SELECT {_ROW.sql} {ROW_FROM} WHERE c.contact_id = ? AND c.id != ?"
            " ORDER BY c.last_message_at DESC LIMIT 50",
            (row.contact_id, conversation_id),
        )
    ]
    return ConversationDetail(
        row=row,
        contact=contact(conn, row.contact_id),
        channel_type=channel_type,
        messages=_messages(conn, conversation_id),
        first_response_at=first_response_at,
        resolved_at=resolved_at,
        url=url,
        other_conversations=tuple(others),
    )


def _snippet(body: str, text: str, width: int = 120) -> str:
    words = [w.lower() for w in re.findall(r"\w+", text)]
    flat = " ".join(body.split())
    lower = flat.lower()
    position = min((p for p in (lower.find(w) for w in words) if p >= 0), default=0)
    start = max(0, position - width // 3)
    excerpt = flat[start : start + width]
    return ("…" if start else "") + excerpt + ("…" if start + width < len(flat) else "")


def draft(conn: sqlite3.Connection, conversation_id: int, agent: str, kind: str) -> str | None:
    row = conn.execute(
        "SELECT body FROM drafts WHERE conversation_id = ? AND agent = ? AND kind = ?",
        (conversation_id, agent, kind),
    ).fetchone()
    return row[0] if row else None


def raw_message(conn: sqlite3.Connection, message_id: int) -> bytes | None:
    row = conn.execute(
        "SELECT r.raw, m.id FROM messages m LEFT JOIN raw_messages r ON r.message_id = m.id"
        " WHERE m.id = ?",
        (message_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no message {message_id}")
    return None if row[0] is None else bytes(row[0])


def blob(conn: sqlite3.Connection, attachment_id: int) -> tuple[str, bytes]:
    row = conn.execute(
        "SELECT a.filename, b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256"
        " WHERE a.id = ?",
        (attachment_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no attachment {attachment_id}")
    return row[0], bytes(row[1])


def audit_entries(
    conn: sqlite3.Connection, conversation_id: int | None, limit: int = 200
) -> list[AuditEntry]:
    """The newest ``limit`` audit entries, of one conversation or (``None``) of the store."""
    if conversation_id is None:
        rows = conn.execute(
            f"SELECT {_AUDIT.sql} FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        )
    else:
        rows = conn.execute(
            f"SELECT {_AUDIT.sql} FROM audit_log WHERE conversation_id = ?"
            " ORDER BY id DESC LIMIT ?",
            (conversation_id, limit),
        )
    return [_AUDIT.build(r) for r in rows]


def data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits: the cheap "anything new?" probe."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def identities_of(
    conn: sqlite3.Connection, contact_ids: Sequence[int]
) -> dict[int, list[IdentityRecord]]:
    """Identities of many contacts in one query (for listing conversations)."""
    found: dict[int, list[IdentityRecord]] = {i: [] for i in contact_ids}
    ids = list(found)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        placeholders = ",".join("?" * len(chunk))
        for contact_id, namespace, address in conn.execute(
            f"SELECT contact_id, namespace, address FROM identities"
            f" WHERE contact_id IN ({placeholders}) ORDER BY id",
            chunk,
        ):
            found[contact_id].append(IdentityRecord(namespace=namespace, address=address))
    return found


def find_contacts(conn: sqlite3.Connection, text: str) -> list[ContactRecord]:
    """Contacts known by ``text``: a contact id (``#12`` or ``12``) or any identity address
    (case-insensitive), e.g. an email address, a chat handle, a forum user."""
    text = text.strip()
    ids: list[int] = []
    if text.lstrip("#").isdigit():
        ids.append(int(text.lstrip("#")))
    ids += [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT contact_id FROM identities WHERE lower(address) = lower(?)", (text,)
        )
    ]
    found = []
    for contact_id in dict.fromkeys(ids):
        try:
            found.append(contact(conn, contact_id))
        except NotFoundError:
            continue
    return found


def conversation_timings(conn: sqlite3.Connection, since: float) -> list[ConversationTiming]:
    """Per conversation created since ``since`` or still active: what the support measures
    are computed from."""
    return [
        _TIMING.build(r)
        for r in conn.execute(
            f"SELECT {_TIMING.sql} FROM conversations c JOIN channels ch ON ch.id = c.channel_id"
            f" WHERE c.created_at >= ? OR {ACTIVE}",
            (since,),
        )
    ]


def shared_views(conn: sqlite3.Connection) -> list[views.ViewDefinition]:
    """The team's views, by name."""
    return [
        views.ViewDefinition(f"view:{name}", name, query, sort, shortcut=shortcut, source="shared")
        for name, query, sort, shortcut in conn.execute(
            "SELECT name, query, sort, shortcut FROM saved_views ORDER BY name"
        )
    ]
