"""Read queries: the queue index, its rows, counts, a conversation, search."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

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
    ListFilter,
    MessageRecord,
    SearchHit,
    View,
)
from .columns import Columns

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
    },
    convert={"tags": _tags},
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


def view_clause(view: View, agent: str) -> tuple[str, str, list[Any]]:
    """(WHERE clause, ORDER BY, parameters) selecting a view's conversations."""
    kind = view.kind
    if kind == "mine":
        return f"{ACTIVE} AND c.assignee = ?", QUEUE_ORDER, [agent]
    if kind == "unassigned":
        return "c.status = 'open' AND c.assignee IS NULL", QUEUE_ORDER, []
    if kind == "open":
        return "c.status = 'open'", QUEUE_ORDER, []
    if kind in ("pending", "closed"):
        return f"c.status = '{kind}'", RECENT_ORDER, []
    if kind == "snoozed":
        return "c.status = 'snoozed'", SNOOZE_ORDER, []
    if kind == "all":
        return "1 = 1", RECENT_ORDER, []
    if kind == "channel":
        return (
            f"{ACTIVE} AND c.channel_id = (SELECT id FROM channels WHERE name = ?)",
            QUEUE_ORDER,
            [view.arg],
        )
    if kind == "tag":
        return (
            f"{ACTIVE} AND c.id IN (SELECT conversation_id FROM conversation_tags WHERE tag = ?)",
            QUEUE_ORDER,
            [view.arg],
        )
    raise UsageError(f"unknown view {view.key!r}")


def conversation_ids(
    conn: sqlite3.Connection, view: View, agent: str, limit: int | None = None
) -> list[int]:
    """The ordered ids of a view: the queue's whole in-memory index (or its first
    ``limit``, to paint the first screen before the whole index is read)."""
    where, order, params = view_clause(view, agent)
    tail = f" LIMIT {int(limit)}" if limit else ""
    return [
        r[0]
        for r in conn.execute(
            f"SELECT c.id FROM conversations c WHERE {where} ORDER BY {order}{tail}", params
        )
    ]


def filter_clause(filters: ListFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.status is None:
        clauses.append("c.status != 'closed'")
    elif filters.status != "any":
        clauses.append("c.status = ?")
        params.append(filters.status)
    if filters.channel:
        clauses.append("ch.name = ?")
        params.append(filters.channel)
    if filters.unassigned:
        clauses.append("c.assignee IS NULL")
    elif filters.assignee:
        clauses.append("c.assignee = ?")
        params.append(filters.assignee)
    if filters.tag:
        clauses.append("c.id IN (SELECT conversation_id FROM conversation_tags WHERE tag = ?)")
        params.append(filters.tag)
    return " AND ".join(clauses) or "1 = 1", params


def list_conversations(conn: sqlite3.Connection, filters: ListFilter) -> list[ConversationRow]:
    where, params = filter_clause(filters)
    limit = f" LIMIT {int(filters.limit)}" if filters.limit else ""
    sql = f"SELECT {_ROW.sql} {ROW_FROM} WHERE {where} ORDER BY {QUEUE_ORDER}{limit}"
    return [_ROW.build(r) for r in conn.execute(sql, params)]


def conversation_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, ConversationRow]:
    """Rows for a window of the queue, keyed by id (missing ids were deleted or merged)."""
    if not ids:
        return {}
    placeholders = ",".join("?" * len(ids))
    sql = f"SELECT {_ROW.sql} {ROW_FROM} WHERE c.id IN ({placeholders})"
    return {row.id: row for row in (_ROW.build(r) for r in conn.execute(sql, list(ids)))}


def view_counts(conn: sqlite3.Connection, agent: str) -> dict[str, int]:
    """Counts for every sidebar view, keyed by :attr:`View.key` (each an index-only count)."""
    counts = dict.fromkeys(("mine", "unassigned", "open", "pending", "snoozed", "closed"), 0)
    for status, count in conn.execute("SELECT status, count(*) FROM conversations GROUP BY status"):
        counts[status] = count
    counts["mine"] = conn.execute(
        f"SELECT count(*) FROM conversations c WHERE c.assignee = ? AND {ACTIVE}", (agent,)
    ).fetchone()[0]
    counts["unassigned"] = conn.execute(
        "SELECT count(*) FROM conversations WHERE assignee IS NULL AND status = 'open'"
    ).fetchone()[0]
    active = dict(
        conn.execute(
            f"SELECT c.channel_id, count(*) FROM conversations c WHERE {ACTIVE}"
            " GROUP BY c.channel_id"
        ).fetchall()
    )
    for channel_id, name in conn.execute("SELECT id, name FROM channels ORDER BY name"):
        counts[f"channel:{name}"] = active.get(channel_id, 0)
    for tag, count in conn.execute(
        "SELECT t.tag, count(*) FROM conversation_tags t JOIN conversations c"
        f" ON c.id = t.conversation_id AND {ACTIVE} GROUP BY t.tag ORDER BY t.tag"
    ):
        counts[f"tag:{tag}"] = count
    return counts


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


_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def fts_query(text: str, *, prefix_last: bool = False) -> str:
    """Turn what an agent types into a safe FTS5 expression.

    Every word is quoted (so ``-``, ``:``, ``^`` and FTS5 keywords are literal) and words
    are ANDed; ``"quoted phrases"`` stay phrases; a word ending in ``*`` matches as a
    prefix (``subscr*``). With ``prefix_last`` the last word is a prefix too, so results
    appear while typing (prefixes cost more: exact words stay the fast default).
    """
    terms: list[str] = []
    matches = list(_TOKEN.finditer(text))
    for index, match in enumerate(matches):
        phrase, word = match.group(1), match.group(2)
        value = phrase if phrase is not None else word
        star = phrase is None and value.endswith("*")
        value = value.rstrip("*") if star else value
        value = value.replace('"', '""').strip()
        if not any(char.isalnum() for char in value):
            continue  # "#", "-", "?": nothing the index holds; would match nothing
        last = phrase is None and index == len(matches) - 1
        prefix = star or (prefix_last and last and len(value) >= 2)
        terms.append(f'"{value}"' + ("*" if prefix else ""))
    if not terms:
        raise UsageError("empty search")
    return " AND ".join(terms)


def _snippet(body: str, text: str, width: int = 120) -> str:
    words = [w.lower() for w in re.findall(r"\w+", text)]
    flat = " ".join(body.split())
    lower = flat.lower()
    position = min((p for p in (lower.find(w) for w in words) if p >= 0), default=0)
    start = max(0, position - width // 3)
    excerpt = flat[start : start + width]
    return ("…" if start else "") + excerpt + ("…" if start + width < len(flat) else "")


def search(
    conn: sqlite3.Connection, text: str, limit: int = 50, prefix_last: bool = False
) -> list[SearchHit]:
    """The ``limit`` most recent messages matching ``text``, newest first.

    The FTS rowid is the message's time-ordered search key, so FTS5 walks its index newest
    first and stops after ``limit`` hits instead of sorting every match.
    """
    query = fts_query(text, prefix_last=prefix_last)
    try:
        rows = conn.execute(
            f"SELECT m.body, {_HIT.sql}"
            " FROM (SELECT rowid AS key FROM messages_fts WHERE messages_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT ?) hits JOIN messages m ON m.search_key = hits.key"
            " ORDER BY m.search_key DESC",
            (query, limit),
        ).fetchall()
    except sqlite3.OperationalError as error:
        raise UsageError(f"cannot search for {text!r}: {error}") from error
    return [_HIT.build(columns, snippet=_snippet(body, text)) for body, *columns in rows]


def search_conversation_ids(conn: sqlite3.Connection, text: str, limit: int = 200) -> list[int]:
    """Conversations with a matching message, most recent hit first (the TUI's search as
    you type: the last word is a prefix)."""
    return list(
        dict.fromkeys(hit.conversation_id for hit in search(conn, text, limit, prefix_last=True))
    )


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
