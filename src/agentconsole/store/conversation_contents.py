"""What moves with messages when an agent re-threads them, and what is recomputed after:
the messages with their reasons, tags, drafts, and a conversation's counters (message count,
last message, waiting since, preview, first response) — each with the record its undo needs.
Callers hold the write transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import draft_macros
from .db import Db
from .ingest_sql import preview_of

#: The columns a change recomputes and an undo puts back.
COUNTERS = ("message_count", "last_message_at", "waiting_since", "preview", "first_response_at")


def message_ids(conn: Db, conversation_id: int) -> list[int]:
    """The ids of a conversation's messages, ascending."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        )
    ]


def snapshot(conn: Db, *conversation_ids: int) -> dict[str, Any]:
    """Each conversation's counters and message ids, for the undo."""
    counters = {}
    for conversation_id in conversation_ids:
        row = conn.execute(
            f"SELECT {', '.join(COUNTERS)} FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        counters[str(conversation_id)] = dict(zip(COUNTERS, row, strict=True))
    ids = {str(c): message_ids(conn, c) for c in conversation_ids}
    return {"counters": counters, "ids": ids}


def recount(conn: Db, conversation_id: int, now: float) -> None:
    """Recompute a conversation's counters from its messages, as ingest and replies keep
    them: notes are counted but are not "last message"; automated mail never makes anyone
    wait; the customer waits from their first message after the last reply. An empty
    conversation keeps its last-message time and preview."""
    where = "WHERE conversation_id = ?"
    key = (conversation_id,)
    (count,) = conn.execute(f"SELECT count(*) FROM messages {where}", key).fetchone()
    newest = conn.execute(
        f"SELECT sent_at, body FROM messages {where} AND direction != 'note'"
        " ORDER BY automated, sent_at DESC, id DESC LIMIT 1",
        key,
    ).fetchone()
    first_out, last_out = conn.execute(
        f"SELECT min(sent_at), max(sent_at) FROM messages {where} AND direction = 'out'", key
    ).fetchone()
    customer = f"SELECT min(sent_at) FROM messages {where} AND direction = 'in' AND automated = 0"
    if last_out is None:
        (waiting,) = conn.execute(customer, key).fetchone()
    else:
        (waiting,) = conn.execute(customer + " AND sent_at > ?", (*key, last_out)).fetchone()
    conn.execute(
        "UPDATE conversations SET message_count = ?, waiting_since = ?, first_response_at = ?,"
        " updated_at = ? WHERE id = ?",
        (count, waiting, first_out, now, conversation_id),
    )
    if newest is not None:
        conn.execute(
            "UPDATE conversations SET last_message_at = ?, preview = ? WHERE id = ?",
            (newest[0], preview_of(newest[1]), conversation_id),
        )


def settle(conn: Db, conversation_id: int, before: dict[str, Any], now: float) -> None:
    """After an undo: the counters as they were when the conversation holds exactly the
    messages it held, else recomputed (messages arrived meanwhile)."""
    key = str(conversation_id)
    if message_ids(conn, conversation_id) != before["ids"].get(key):
        recount(conn, conversation_id, now)
        return
    counters = before["counters"][key]
    conn.execute(
        f"UPDATE conversations SET {', '.join(f'{c} = ?' for c in COUNTERS)}, updated_at = ?"
        " WHERE id = ?",
        (*(counters[c] for c in COUNTERS), now, conversation_id),
    )


# -- messages, tags, drafts ---------------------------------------------------------------

#: A moved message as recorded: [message id, conversation, reason, reason detail] before.
Moved = list[Any]


def move_messages(
    conn: Db,
    message_ids: Sequence[int],
    target: int,
    reason: str,
    detail: str,
) -> list[Moved]:
    """Move messages to ``target`` with a new reason; returns what each was before."""
    moved: list[Moved] = []
    for message_id in message_ids:
        row = conn.execute(
            "SELECT conversation_id, thread_reason, thread_reason_detail FROM messages"
            " WHERE id = ?",
            (message_id,),
        ).fetchone()
        moved.append([message_id, row[0], row[1], row[2]])
    conn.executemany(
        "UPDATE messages SET conversation_id = ?, thread_reason = ?, thread_reason_detail = ?"
        " WHERE id = ?",
        [(target, reason, detail, message_id) for message_id in message_ids],
    )
    return moved


def put_back(conn: Db, moved: Sequence[Moved], now_in: int) -> None:
    """Messages recorded by :func:`move_messages` back where they were, with their
    reasons (those still in ``now_in``)."""
    conn.executemany(
        "UPDATE messages SET conversation_id = ?, thread_reason = ?, thread_reason_detail = ?"
        " WHERE id = ? AND conversation_id = ?",
        [
            (conversation_id, reason, detail, message_id, now_in)
            for message_id, conversation_id, reason, detail in moved
        ],
    )


def tags_of(conn: Db, conversation_id: int) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT tag FROM conversation_tags WHERE conversation_id = ? ORDER BY tag",
            (conversation_id,),
        )
    ]


def add_tags(conn: Db, conversation_id: int, tags: Sequence[str]) -> None:
    conn.executemany(
        "INSERT INTO conversation_tags(conversation_id, tag) VALUES (?, ?)"
        " ON CONFLICT (conversation_id, tag) DO NOTHING",
        [(conversation_id, tag) for tag in tags],
    )


def move_drafts(conn: Db, source: int, target: int, now: float) -> list[Any]:
    """Every draft of ``source`` into ``target`` (appended to the same agent's draft of the
    same kind there), with the saved replies' actions each keeps (``drafts.macros``, see
    :mod:`.draft_macros`); returns what the undo needs: each draft, what ``target`` had,
    what was written."""
    moved = []
    for agent, kind, body, updated_at, macros in conn.execute(
        "SELECT agent, kind, body, updated_at, macros FROM drafts WHERE conversation_id = ?"
        " ORDER BY agent, kind",
        (source,),
    ).fetchall():
        there = conn.execute(
            "SELECT body, updated_at, macros FROM drafts WHERE conversation_id = ?"
            " AND agent = ? AND kind = ?",
            (target, agent, kind),
        ).fetchone()
        if there is None:
            written = body
            conn.execute(
                "INSERT INTO drafts(conversation_id, agent, kind, body, updated_at, macros)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (target, agent, kind, body, updated_at, macros),
            )
        else:
            written = there[0].rstrip("\n") + "\n\n" + body
            conn.execute(
                "UPDATE drafts SET body = ?, updated_at = ?, macros = ? WHERE conversation_id = ?"
                " AND agent = ? AND kind = ?",
                (written, now, draft_macros.joined(there[2], macros), target, agent, kind),
            )
        moved.append(
            {
                "agent": agent,
                "kind": kind,
                "body": body,
                "updated_at": updated_at,
                "macros": macros,
                "target_had": list(there[:2]) if there else None,
                "target_macros": there[2] if there else None,
                "written": written,
            }
        )
    conn.execute("DELETE FROM drafts WHERE conversation_id = ?", (source,))
    return moved


def restore_drafts(conn: Db, source: int, target: int, moved: Sequence[dict[str, Any]]) -> None:
    """Undo :func:`move_drafts`: each draft back on ``source`` with its macros; ``target``'s
    as it was, unless an agent edited it since (then their text and macros stay). A record
    from before drafts kept macros puts none back."""
    for draft in moved:
        conn.execute(
            "INSERT INTO drafts(conversation_id, agent, kind, body, updated_at, macros)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id, agent, kind) DO NOTHING",
            (
                source,
                draft["agent"],
                draft["kind"],
                draft["body"],
                draft["updated_at"],
                draft.get("macros"),
            ),
        )
        key = (target, draft["agent"], draft["kind"])
        row = conn.execute(
            "SELECT body FROM drafts WHERE conversation_id = ? AND agent = ? AND kind = ?", key
        ).fetchone()
        if row is None or row[0] != draft["written"]:
            continue
        if draft["target_had"] is None:
            conn.execute(
                "DELETE FROM drafts WHERE conversation_id = ? AND agent = ? AND kind = ?", key
            )
        else:
            conn.execute(
                "UPDATE drafts SET body = ?, updated_at = ?, macros = ? WHERE conversation_id = ?"
                " AND agent = ? AND kind = ?",
                (*draft["target_had"], draft.get("target_macros"), *key),
            )
