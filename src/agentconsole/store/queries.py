"""Read queries: the queue index, its rows, counts, a conversation, search."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

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
    replace,
)
from ..query import Node, Text, parse
from ..views import Order
from . import redirects, send_health, snippets, spam_sql
from .columns import Columns
from .compile_query import (
    WALK_ORDER_FROM,
    Compiled,
    compile_count,
    compile_query,
    estimator,
    row_counter,
    split_text,
    text_expression,
)
from .db import Db

#: Conversations still being worked on (``c`` is the conversations table).
ACTIVE = "c.status IN ({})".format(", ".join(f"'{status}'" for status in ACTIVE_STATUSES))

# "What needs an answer first": most urgent, then the customer waiting longest,
# then the most recent activity.
QUEUE_ORDER = (
    "c.priority, c.waiting_since IS NULL, c.waiting_since, c.last_message_at DESC, c.id DESC"
)
RECENT_ORDER = "c.last_message_at DESC, c.id DESC"
SNOOZE_ORDER = "c.snooze_until, c.id"


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
        "created_at": "c.created_at",
        "updated_at": "c.updated_at",
        "last_message_at": "c.last_message_at",
        "waiting_since": "c.waiting_since",
        "snooze_until": "c.snooze_until",
        "message_count": "c.message_count",
        "sla": "c.sla_policy",
        "sla_target": "c.sla_target",
        "sla_started_at": "c.sla_started_at",
        "sla_due_at": "c.sla_due_at",
        "sla_missed": "c.sla_breached",
        "failed": "EXISTS (SELECT 1 FROM outbox o JOIN messages m ON m.id = o.message_id"
        " WHERE m.conversation_id = c.id AND o.state = 'failed')",
    },
    convert={"sla_missed": bool, "failed": bool},
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
        "thread_reason": "m.thread_reason",
        "thread_reason_detail": "m.thread_reason_detail",
        "author_role": "m.author_role",
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
        "open_count": f"(SELECT count(*) FROM conversations c WHERE c.channel_id = ch.id AND {ACTIVE}"
        f" AND {redirects.NOT_REDIRECTED})",
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
        "account": "account",
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
        "sla": "c.sla_policy",
        "sla_missed": "c.sla_breached",
        "sla_due_at": "c.sla_due_at",
    },
    convert={"sla_missed": bool},
)


ORDERS = {
    "urgent": QUEUE_ORDER,
    "recent": RECENT_ORDER,
    "waiting": "c.waiting_since IS NULL, c.waiting_since, c.id",
    "snooze": SNOOZE_ORDER,
}


def compiled(conn: Db, node: Node, agent: str, now: float, *, first_rows: bool = False) -> Compiled:
    """``node`` as a condition on ``c``, its full-text parts sized against this store; with
    ``first_rows`` (a top N in the queue's order) its field conditions are sized too."""
    rows = row_counter(conn) if first_rows else None
    return compile_query(
        node,
        agent=agent,
        now=now,
        dialect=conn.dialect,
        estimate=estimator(conn),
        rows=rows,
        hide_spam=spam_sql.any_spam(conn),
    )


def select_ids(
    conn: Db,
    node: Node,
    order: Order,
    agent: str,
    now: float,
    limit: int | None = None,
) -> list[int]:
    """The ids of the conversations ``node`` matches, in ``order``, at most ``limit``."""
    condition = compiled(conn, node, agent, now, first_rows=bool(limit) and order == "urgent")
    tail = f" LIMIT {int(limit)}" if limit else ""
    if order == "urgent":
        late = _past_due(conn, now)
        if late is not None:
            return _breaching_first(conn, condition, late, now, limit)
    sql = f"SELECT c.id FROM conversations c WHERE {condition.where} ORDER BY {ORDERS[order]}{tail}"
    return [r[0] for r in conn.execute(sql, condition.params)]


def _past_due(conn: Db, now: float) -> str | None:
    """The condition "past its SLA due time" (``?`` is now) when any conversation is, else
    ``None``. One probe of the due index counts them (up to :data:`WALK_ORDER_FROM`): when
    many are, the condition keeps off that index, so the urgent order's index is walked."""
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM conversations"
        " WHERE sla_due_at IS NOT NULL AND sla_due_at <= ? LIMIT ?) late"
    )
    count = int(conn.execute(sql, (now, WALK_ORDER_FROM)).fetchone()[0])
    if not count:
        return None
    column = "+c.sla_due_at" if count >= WALK_ORDER_FROM else "c.sla_due_at"
    return f"({column} IS NOT NULL AND {column} <= ?)"


def _breaching_first(
    conn: Db, condition: Compiled, late: str, now: float, limit: int | None
) -> list[int]:
    """The urgent order with the conversations past their due time first: the late ones in
    queue order, then the others (two walks of the order index, never a sort of all)."""
    ids: list[int] = []
    limit = limit or None
    for part in (late, f"NOT {late}"):
        left = None if limit is None else limit - len(ids)
        if left is not None and left <= 0:
            break
        tail = f" LIMIT {int(left)}" if left is not None else ""
        sql = (
            f"SELECT c.id FROM conversations c WHERE {condition.where} AND {part}"
            f" ORDER BY {QUEUE_ORDER}{tail}"
        )
        ids += [r[0] for r in conn.execute(sql, (*condition.params, now))]
    return ids


def count_matching(conn: Db, nodes: Mapping[str, Node], agent: str, now: float) -> dict[str, int]:
    """How many conversations each query matches, by key."""
    counts = {}
    for key, node in nodes.items():
        sql, params = count_statement(conn, node, agent, now)
        counts[key] = int(conn.execute(sql, params).fetchone()[0])
    return counts


def count_statement(conn: Db, node: Node, agent: str, now: float) -> tuple[str, tuple[object, ...]]:
    """The statement counting what ``node`` matches, and its parameters
    (:func:`.compile_query.compile_count`: each reads an index range, no row)."""
    counting = compile_count(
        node, agent=agent, now=now, dialect=conn.dialect, estimate=estimator(conn)
    )
    return counting.where, counting.params


def find(
    conn: Db,
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


def search_hits(conn: Db, node: Node, agent: str, now: float, limit: int) -> list[SearchHit]:
    """The ``limit`` newest messages holding the query's words in conversations matching the
    rest of it, each with its snippet (:mod:`.snippets`: cut out by the database, cleaned
    here). The full-text index is read newest first, so the search stops after ``limit``
    hits instead of sorting all of them."""
    textual, rest = split_text(node)
    expression = text_expression(textual, conn.dialect)
    if not expression:
        raise UsageError(
            "search needs words to find (fields alone select conversations: `list QUERY`)"
        )
    condition = compiled(conn, rest, agent, now)
    searched = snippets.words(
        " ".join(t.word if isinstance(t, Text) else str(getattr(t, "value", "")) for t in textual)
    )
    positions, window = snippets.window_columns(conn.dialect, "m.body", "h", len(searched))
    # The newest hits first, then their windows: the positions are computed for those
    # ``limit`` rows only, and the body is read where it lies instead of being returned.
    newest = conn.dialect.newest_hits(
        f"m.id AS hit_id, m.search_key AS hit_key, {positions}", condition.where
    )
    sql = (
        f"SELECT {_HIT.sql}, {window} FROM ({newest}) h JOIN messages m ON m.id = h.hit_id"
        " ORDER BY h.hit_key DESC"
    )
    rows = conn.execute(sql, (*searched, expression, *condition.params, limit)).fetchall()
    build, cut = _HIT.build, snippets.snippet
    return [build(row[:-2], snippet=cut(row[-2], row[-1], searched)) for row in rows]


def conversation_ids(conn: Db, view: View, agent: str, limit: int | None = None) -> list[int]:
    """The ordered ids of a view: the queue's whole in-memory index (or its first
    ``limit``, to paint the first screen before the whole index is read). A search view
    reads the word being typed as a prefix."""
    definition = views.definition(view)
    node = parse(definition.query, prefix_last=view.kind == "search")
    return select_ids(conn, node, definition.order, agent, time.time(), limit)


def conversation_rows(conn: Db, ids: Sequence[int]) -> dict[int, ConversationRow]:
    """Rows for a window of the queue, keyed by id (missing ids were deleted or merged)."""
    if not ids:
        return {}
    placeholders = ",".join("?" * len(ids))
    return {row.id: row for row in _rows(conn, f"c.id IN ({placeholders})", list(ids))}


def _rows(conn: Db, where: str, params: Sequence[object], tail: str = "") -> list[ConversationRow]:
    """Queue rows of the conversations meeting ``where``, each with its sorted tags (read
    in a second query: an aggregate is spelled differently by every database)."""
    found = conn.execute(f"SELECT {_ROW.sql} {ROW_FROM} WHERE {where}{tail}", params).fetchall()
    if not found:
        return []
    ids = [r[0] for r in found]
    tags: dict[int, list[str]] = {}
    for conversation_id, tag in conn.execute(
        "SELECT conversation_id, tag FROM conversation_tags"
        f" WHERE conversation_id IN ({','.join('?' * len(ids))}) ORDER BY tag",
        ids,
    ):
        tags.setdefault(conversation_id, []).append(tag)
    return [_ROW.build(r, tags=tuple(tags.get(r[0], ()))) for r in found]


def queue_rows(conn: Db, ids: Sequence[int], agent: str) -> dict[int, ConversationRow]:
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


def view_counts(conn: Db, agent: str) -> dict[str, int]:
    """Counts for every sidebar view, keyed by :attr:`View.key`: the built-in views and
    Spam, one per channel, one per tag — each the count of the view's own query."""
    definitions = [*views.BUILT_IN, views.SPAM]
    definitions += [views.channel_view(r[0]) for r in conn.execute("SELECT name FROM channels")]
    definitions += [views.tag_view(tag) for tag in all_tags(conn)]
    nodes = {d.key: parse(d.query) for d in definitions}
    return count_matching(conn, nodes, agent, time.time())


def all_tags(conn: Db) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT tag FROM conversation_tags ORDER BY tag")]


def channels(conn: Db, with_counts: bool = True) -> list[ChannelRecord]:
    """Every channel with its health, lease and (unless ``with_counts`` is off, for callers
    that have counts already) how many conversations are open or pending."""
    columns = _CHANNEL if with_counts else _CHANNEL_UNCOUNTED
    rows = conn.execute(f"SELECT {columns.sql} FROM channels ch ORDER BY ch.name")
    return send_health.as_now(conn, [columns.build(r) for r in rows])


def contact(conn: Db, contact_id: int) -> ContactRecord:
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
    claims = tuple(
        IdentityRecord(namespace=namespace, address=address)
        for namespace, address in conn.execute(
            "SELECT namespace, address FROM contact_claims WHERE contact_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.contact_id = ?"
            " AND i.namespace = contact_claims.namespace AND i.address = contact_claims.address)"
            " ORDER BY claimed_at, address",
            (contact_id, contact_id),
        )
    )
    return ContactRecord(id=row[0], name=row[1], identities=identities, claims=claims)


def _messages(conn: Db, conversation_id: int) -> tuple[MessageRecord, ...]:
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


def conversation_detail(conn: Db, conversation_id: int) -> ConversationDetail:
    asked, conversation_id = conversation_id, redirects.resolve(conn, conversation_id)
    rows = conversation_rows(conn, [conversation_id])
    if conversation_id not in rows:
        raise NotFoundError(f"no conversation {conversation_id}")
    row = rows[conversation_id]
    channel_type, first_response_at, resolved_at, url, handed_off_at = conn.execute(
        "SELECT ch.type, c.first_response_at, c.resolved_at, c.url, c.handed_off_at"
        " FROM conversations c"
        " JOIN channels ch ON ch.id = c.channel_id WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    others = _rows(
        conn,
        f"c.contact_id = ? AND c.id != ? AND {redirects.NOT_REDIRECTED}",
        (row.contact_id, conversation_id),
        " ORDER BY c.last_message_at DESC LIMIT 50",
    )
    return ConversationDetail(
        row=row,
        contact=contact(conn, row.contact_id),
        channel_type=channel_type,
        messages=_messages(conn, conversation_id),
        first_response_at=first_response_at,
        resolved_at=resolved_at,
        url=url,
        other_conversations=tuple(others),
        redirected_from=asked if asked != conversation_id else None,
        handed_off_at=handed_off_at,
    )


def draft(conn: Db, conversation_id: int, agent: str, kind: str) -> str | None:
    row = conn.execute(
        "SELECT body FROM drafts WHERE conversation_id = ? AND agent = ? AND kind = ?",
        (conversation_id, agent, kind),
    ).fetchone()
    return row[0] if row else None


def raw_message(conn: Db, message_id: int) -> bytes | None:
    row = conn.execute(
        "SELECT r.raw, m.id FROM messages m LEFT JOIN raw_messages r ON r.message_id = m.id"
        " WHERE m.id = ?",
        (message_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no message {message_id}")
    return None if row[0] is None else bytes(row[0])


def blob(conn: Db, attachment_id: int) -> tuple[str, bytes]:
    row = conn.execute(
        "SELECT a.filename, b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256"
        " WHERE a.id = ?",
        (attachment_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no attachment {attachment_id}")
    return row[0], bytes(row[1])


def audit_entries(conn: Db, conversation_id: int | None, limit: int = 200) -> list[AuditEntry]:
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


def identities_of(conn: Db, contact_ids: Sequence[int]) -> dict[int, list[IdentityRecord]]:
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


def find_contacts(conn: Db, text: str) -> list[ContactRecord]:
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


def conversation_timings(conn: Db, since: float) -> list[ConversationTiming]:
    """Per conversation created since ``since`` or still active: what the support measures
    are computed from."""
    return [
        _TIMING.build(r)
        for r in conn.execute(
            f"SELECT {_TIMING.sql} FROM conversations c JOIN channels ch ON ch.id = c.channel_id"
            f" WHERE (c.created_at >= ? OR {ACTIVE}) AND {redirects.NOT_REDIRECTED}",
            (since,),
        )
    ]


def shared_views(conn: Db) -> list[views.ViewDefinition]:
    """The team's views, by name."""
    return [
        views.ViewDefinition(f"view:{name}", name, query, sort, shortcut=shortcut, source="shared")
        for name, query, sort, shortcut in conn.execute(
            "SELECT name, query, sort, shortcut FROM saved_views ORDER BY name"
        )
    ]
