"""Changing conversations' state — assignment, status, priority, tags — for one or many at
once, each change audited in the transaction that makes it, and undone the same way.

One rule for everyone (the CLI, the TUI's bulk actions, later rules): a change that would
not alter a conversation writes nothing and says so; taking a conversation another agent
holds needs ``force``; a batch is one transaction, and a conversation that cannot change
(not found, held) is reported without stopping the others.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..errors import ConflictError, NotFoundError, UsageError
from ..models import PRIORITIES, STATUSES, Change, ChangeOutcome, ConversationState
from .db import Db
from .writes import audit

#: Conversations changed per transaction: big enough to be quick, small enough that other
#: writers (ingest, other agents) never wait long.
BATCH = 500


def check(change: Change) -> None:
    """Refuse a malformed change before touching anything. Raises :class:`UsageError`."""
    if change.kind == "status":
        if change.status not in STATUSES:
            raise UsageError(f"unknown status {change.status!r}: use one of {', '.join(STATUSES)}")
        if change.status == "snoozed" and change.snooze_until is None:
            raise UsageError("snoozing needs a time to wake up")
    elif change.kind == "priority":
        if change.rank is None or not 0 <= change.rank < len(PRIORITIES):
            raise UsageError(
                f"priority rank {change.rank} is out of range: use 0 (urgent) to 3 (low)"
            )
    elif change.kind == "tags":
        for tag in change.add:
            if not tag or any(char.isspace() for char in tag):
                raise UsageError(f"a tag is one word without spaces, not {tag!r}")


def state(conn: Db, conversation_id: int) -> ConversationState:
    """A conversation's changeable state. Raises :class:`NotFoundError`."""
    row = conn.execute(
        "SELECT status, snooze_until, priority, assignee FROM conversations WHERE id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    tags = tuple(
        r[0]
        for r in conn.execute(
            "SELECT tag FROM conversation_tags WHERE conversation_id = ? ORDER BY tag",
            (conversation_id,),
        )
    )
    return ConversationState(conversation_id, row[0], row[1], row[2], row[3], tags)


def apply_one(
    conn: Db, conversation_id: int, change: Change, agent: str, now: float
) -> ChangeOutcome:
    """``change`` on one conversation inside the caller's transaction."""
    before = state(conn, conversation_id)
    if change.kind == "assign":
        return _assign(conn, before, change, agent, now)
    if change.kind == "status":
        return _status(conn, before, change, agent, now)
    if change.kind == "priority":
        return _priority(conn, before, change, agent, now)
    return _tags(conn, before, change, agent, now)


def apply(conn: Db, ids: Sequence[int], change: Change, agent: str) -> list[ChangeOutcome]:
    """``change`` on every conversation of ``ids`` (in order), one transaction per
    :data:`BATCH`; an outcome per id. Raises :class:`UsageError` for a malformed change."""
    check(change)
    outcomes: list[ChangeOutcome] = []
    for start in range(0, len(ids), BATCH):
        now = time.time()
        with conn.transaction():
            for conversation_id in ids[start : start + BATCH]:
                try:
                    outcomes.append(apply_one(conn, conversation_id, change, agent, now))
                except NotFoundError as error:
                    outcomes.append(ChangeOutcome(conversation_id, False, None, str(error), 3))
                except ConflictError as error:
                    outcomes.append(ChangeOutcome(conversation_id, False, None, str(error), 4))
    return outcomes


def restore(conn: Db, states: Sequence[ConversationState], agent: str) -> list[int]:
    """Put each conversation back as ``states`` recorded it (the undo of a change), audited
    as ``undo``; returns the ids that changed. Conversations gone since are skipped."""
    restored: list[int] = []
    for start in range(0, len(states), BATCH):
        now = time.time()
        with conn.transaction():
            for before in states[start : start + BATCH]:
                try:
                    current = state(conn, before.conversation_id)
                except NotFoundError:
                    continue
                if current == before:
                    continue
                _write_state(conn, before, now)
                audit(
                    conn,
                    agent,
                    "undo",
                    before.conversation_id,
                    {"from": _describe(current), "to": _describe(before)},
                    now,
                )
                restored.append(before.conversation_id)
    return restored


def _unchanged(before: ConversationState, what: str) -> ChangeOutcome:
    return ChangeOutcome(before.conversation_id, False, before, what, 1)


def _assign(
    conn: Db, before: ConversationState, change: Change, agent: str, now: float
) -> ChangeOutcome:
    current, wanted = before.assignee, change.assignee
    if current == wanted:
        return _unchanged(before, f"already {'assigned to ' + wanted if wanted else 'unassigned'}")
    if current is not None and current != agent and not change.force:
        raise ConflictError(
            f"conversation {before.conversation_id} is assigned to {current}; "
            "take it over explicitly (--force) if that is intended"
        )
    conn.execute(
        "UPDATE conversations SET assignee = ?, updated_at = ? WHERE id = ?",
        (wanted, now, before.conversation_id),
    )
    audit(conn, agent, "assign", before.conversation_id, {"from": current, "to": wanted}, now)
    return ChangeOutcome(before.conversation_id, True, before)


def _status(
    conn: Db, before: ConversationState, change: Change, agent: str, now: float
) -> ChangeOutcome:
    status = change.status
    assert status is not None
    until = change.snooze_until if status == "snoozed" else None
    if before.status == status and before.snooze_until == until:
        return _unchanged(before, f"already {status}")
    conn.execute(
        "UPDATE conversations SET status = ?, updated_at = ?, snooze_until = ?,"
        " resolved_at = CASE WHEN ? = 'closed' THEN ? ELSE NULL END WHERE id = ?",
        (status, now, until, status, now, before.conversation_id),
    )
    detail: dict[str, Any] = {"from": before.status, "to": status}
    if until is not None:
        detail["until"] = until
    audit(conn, agent, "status", before.conversation_id, detail, now)
    return ChangeOutcome(before.conversation_id, True, before)


def _priority(
    conn: Db, before: ConversationState, change: Change, agent: str, now: float
) -> ChangeOutcome:
    if before.priority == change.rank:
        return _unchanged(before, f"already {PRIORITIES[before.priority]}")
    conn.execute(
        "UPDATE conversations SET priority = ?, updated_at = ? WHERE id = ?",
        (change.rank, now, before.conversation_id),
    )
    audit(
        conn,
        agent,
        "priority",
        before.conversation_id,
        {"from": before.priority, "to": change.rank},
        now,
    )
    return ChangeOutcome(before.conversation_id, True, before)


def _tags(
    conn: Db, before: ConversationState, change: Change, agent: str, now: float
) -> ChangeOutcome:
    have = set(before.tags)
    add = [tag for tag in dict.fromkeys(change.add) if tag not in have]
    remove = [tag for tag in dict.fromkeys(change.remove) if tag in have and tag not in add]
    if not add and not remove:
        return _unchanged(before, "tags already so")
    conn.executemany(
        "INSERT INTO conversation_tags(conversation_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(before.conversation_id, tag) for tag in add],
    )
    conn.executemany(
        "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?",
        [(before.conversation_id, tag) for tag in remove],
    )
    conn.execute(
        "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, before.conversation_id)
    )
    audit(conn, agent, "tag", before.conversation_id, {"add": add, "remove": remove}, now)
    return ChangeOutcome(before.conversation_id, True, before)


def _write_state(conn: Db, wanted: ConversationState, now: float) -> None:
    conn.execute(
        "UPDATE conversations SET status = ?, snooze_until = ?, priority = ?, assignee = ?,"
        " updated_at = ?,"
        " resolved_at = CASE WHEN ? = 'closed' THEN coalesce(resolved_at, ?) ELSE NULL END"
        " WHERE id = ?",
        (
            wanted.status,
            wanted.snooze_until,
            wanted.priority,
            wanted.assignee,
            now,
            wanted.status,
            now,
            wanted.conversation_id,
        ),
    )
    conn.execute(
        "DELETE FROM conversation_tags WHERE conversation_id = ?", (wanted.conversation_id,)
    )
    conn.executemany(
        "INSERT INTO conversation_tags(conversation_id, tag) VALUES (?, ?)",
        [(wanted.conversation_id, tag) for tag in wanted.tags],
    )


def _describe(current: ConversationState) -> dict[str, Any]:
    return {
        "status": current.status,
        "snooze_until": current.snooze_until,
        "priority": current.priority,
        "assignee": current.assignee,
        "tags": list(current.tags),
    }
