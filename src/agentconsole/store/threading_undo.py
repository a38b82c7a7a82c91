"""Undoing a merge, split or move exactly, from its record in ``threading_changes`` (the
rules are in :mod:`.threading_changes`): only the latest change touching its conversations,
once."""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import thread_reasons
from ..errors import ConflictError, UsageError
from ..models import ThreadingChange
from .conversation_contents import (
    add_tags,
    message_ids,
    move_drafts,
    move_messages,
    put_back,
    recount,
    restore_drafts,
    settle,
)
from .db import Db
from .threading_changes import Recorded, audit_both, changed, load


def undo(conn: Db, change_id: int, agent: str, kind: str | None = None) -> ThreadingChange:
    """Undo change ``change_id`` (when ``kind`` is given, it must be one), audited.

    Raises :class:`NotFoundError`; :class:`UsageError` for another kind;
    :class:`ConflictError` when it was undone already or a later change touched its
    conversations (undo that one first)."""
    now = time.time()
    with conn.transaction():
        recorded = load(conn, change_id)
        found = recorded.change
        if kind is not None and found.kind != kind:
            raise UsageError(
                f"change {change_id} is a {found.kind}, not a {kind}: undo it with"
                f" agentconsole {found.kind} --undo {change_id}"
            )
        if found.undone:
            raise ConflictError(f"{found.kind} {change_id} was undone already")
        involved = (found.source_id, found.target_id)
        later = conn.execute(
            "SELECT id, kind FROM threading_changes WHERE id > ? AND undone_at IS NULL"
            " AND (source_id IN (?, ?) OR target_id IN (?, ?)) ORDER BY id DESC LIMIT 1",
            (change_id, *involved, *involved),
        ).fetchone()
        if later is not None:
            raise ConflictError(
                f"{later[1]} {later[0]} changed these conversations after {found.kind}"
                f" {change_id}: undo it first (agentconsole {later[1]} --undo {later[0]})"
            )
        _UNDO[found.kind](conn, recorded, agent, now)
        conn.execute(
            "UPDATE threading_changes SET undone_at = ?, undone_by = ? WHERE id = ?",
            (now, agent, change_id),
        )
        audit_action = {"merge": "unmerge", "split": "unsplit", "move": "unmove"}[found.kind]
        audit_both(conn, agent, audit_action, found, now)
    return changed(recorded, undone=True)


def _unmerge(conn: Db, recorded: Recorded, agent: str, now: float) -> None:
    keep, other = recorded.change.target_id, recorded.change.source_id
    detail = recorded.detail
    put_back(conn, detail["messages"], keep)
    conn.execute(
        "DELETE FROM conversation_redirects WHERE conversation_id = ? AND change_id = ?",
        (other, recorded.change.id),
    )
    add_tags(conn, other, detail["tags"]["moved"])
    conn.executemany(
        "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?",
        [(keep, tag) for tag in detail["tags"]["added"]],
    )
    restore_drafts(conn, other, keep, detail["drafts"])
    reopened = detail.get("reopened")
    if reopened is not None:
        # Put the kept one's status back, unless an agent changed it since.
        conn.execute(
            "UPDATE conversations SET status = ?, snooze_until = ?, resolved_at = ?"
            " WHERE id = ? AND status = 'open'",
            (reopened["status"], reopened["snooze_until"], reopened["resolved_at"], keep),
        )
    settle(conn, keep, detail["before"], now)
    settle(conn, other, detail["before"], now)


def _unsplit(conn: Db, recorded: Recorded, agent: str, now: float) -> None:
    source, new = recorded.change.source_id, recorded.change.target_id
    detail = recorded.detail
    put_back(conn, detail["messages"], new)
    # Whatever arrived in the split-off part since goes back with it.
    move_messages(
        conn,
        message_ids(conn, new),
        source,
        thread_reasons.MOVED,
        f"back from #{new} by {agent} (split undone)",
    )
    keys = detail["thread_key"]
    if keys["moved"]:
        conn.execute("UPDATE conversations SET thread_key = NULL WHERE id = ?", (new,))
        conn.execute(
            "UPDATE conversations SET thread_key = ?, reply_thread_key = ? WHERE id = ?",
            (keys["key"], keys["reply_key"], source),
        )
    move_drafts(conn, new, source, now)
    conn.execute("DELETE FROM conversation_tags WHERE conversation_id = ?", (new,))
    conn.execute(
        "INSERT INTO conversation_redirects(conversation_id, target_id, change_id)"
        " VALUES (?, ?, ?)",
        (new, source, recorded.change.id),
    )
    settle(conn, source, detail["before"], now)
    recount(conn, new, now)


def _unmove(conn: Db, recorded: Recorded, agent: str, now: float) -> None:
    source, target = recorded.change.source_id, recorded.change.target_id
    put_back(conn, recorded.detail["messages"], target)
    settle(conn, source, recorded.detail["before"], now)
    settle(conn, target, recorded.detail["before"], now)


_UNDO: dict[str, Callable[[Db, Recorded, str, float], None]] = {
    "merge": _unmerge,
    "split": _unsplit,
    "move": _unmove,
}
