"""The agent deciding where messages belong: merge two conversations, split one at a
message, move a message to another — each audited, recorded in ``threading_changes`` with
what it changed, and undone exactly from that record.

Rules, written once here:
- A merge moves every message (notes included), tag and draft of the merged conversation
  into the kept one; the merged one keeps its row (its audit names it) and redirects to the
  kept one (see :mod:`.redirects`). A draft meeting a draft of the same agent and kind is
  appended to it, so neither text is lost. Merging an open conversation into one that is
  not open reopens the kept one (what the customer wrote still needs an answer).
- A split takes the message and every later one (thread order) into a new conversation —
  or, with ``only``, that message alone. The new conversation is open, with the original's
  priority, assignee and tags, and belongs to the customer who wrote the first message it
  takes. A chat or forum thread continues where its latest messages went: a split from a
  message on takes the channel's thread key along (new lines of the room or topic join the
  new conversation); the other conversation still answers on that thread.
- A move takes one message to another conversation of the same channel.
- Merges, splits and moves stay within one channel, and never leave a conversation empty
  (merge it instead).
- The counters (message count, last message, waiting since, preview, first response) of
  both conversations are recomputed from their messages.
- Undo puts the messages back with the reasons they had, and the counters as they were
  (recomputed instead when messages arrived meanwhile). Only the latest change touching its
  conversations can be undone, so the record always describes what is there; messages that
  arrived in a split-off conversation go back with the rest.
- Later replies follow: threading looks replies up by the messages they refer to, which
  now live where the agent put them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from .. import thread_reasons
from ..errors import NotFoundError, UsageError
from ..models import ThreadingChange
from . import redirects
from .columns import Columns
from .conversation_contents import (
    add_tags,
    message_ids,
    move_drafts,
    move_messages,
    recount,
    snapshot,
    tags_of,
)
from .db import Db
from .writes import audit

Kind = Literal["merge", "split", "move"]
KINDS: tuple[Kind, ...] = ("merge", "split", "move")


@dataclass(frozen=True, slots=True)
class _Conversation:
    id: int
    channel_id: int
    contact_id: int
    subject: str
    priority: int
    assignee: str | None
    thread_key: str | None
    reply_thread_key: str | None
    url: str | None


_CONVERSATION = Columns(
    _Conversation,
    {
        "id": "id",
        "channel_id": "channel_id",
        "contact_id": "contact_id",
        "subject": "subject",
        "priority": "priority",
        "assignee": "assignee",
        "thread_key": "thread_key",
        "reply_thread_key": "reply_thread_key",
        "url": "url",
    },
)


def _conversation(conn: Db, asked: int) -> _Conversation:
    """The conversation ``asked`` stands for (following a merge). Raises NotFoundError."""
    row = conn.execute(
        f"SELECT {_CONVERSATION.sql} FROM conversations WHERE id = ?",
        (redirects.resolve(conn, asked),),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no conversation {asked}")
    return _CONVERSATION.build(row)


def _message_conversation(conn: Db, message_id: int) -> _Conversation:
    row = conn.execute(
        "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no message {message_id}")
    return _conversation(conn, int(row[0]))


def _same_channel(first: _Conversation, second: _Conversation, verb: str) -> None:
    if first.channel_id != second.channel_id:
        raise UsageError(
            f"#{first.id} and #{second.id} are on different channels: {verb} works within"
            " one channel (a reply goes out on the conversation's channel); to see one"
            " customer's conversations together, link their contacts (agentconsole link)"
        )


# -- the change log -------------------------------------------------------------------------


def record(
    conn: Db,
    kind: Kind,
    agent: str,
    now: float,
    source: int,
    target: int,
    detail: dict[str, Any],
) -> int:
    (change_id,) = conn.execute(
        "INSERT INTO threading_changes(kind, at, agent, source_id, target_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (kind, now, agent, source, target, json.dumps(detail)),
    ).fetchone()
    return int(change_id)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A change as its row records it: the change and what it changed (for the undo)."""

    change: ThreadingChange
    detail: dict[str, Any]


def load(conn: Db, change_id: int) -> Recorded:
    row = conn.execute(
        "SELECT kind, at, agent, source_id, target_id, detail, undone_at"
        " FROM threading_changes WHERE id = ?",
        (change_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no merge, split or move {change_id}")
    kind, at, agent, source, target, detail_json, undone_at = row
    detail = json.loads(detail_json)
    change = ThreadingChange(
        id=change_id,
        kind=kind,
        source_id=source,
        target_id=target,
        message_ids=tuple(m[0] for m in detail["messages"]),
        agent=agent,
        at=at,
        undone=undone_at is not None,
    )
    return Recorded(change, detail)


def changed(recorded: Recorded, *, undone: bool = False) -> ThreadingChange:
    change = recorded.change
    return ThreadingChange(
        change.id,
        change.kind,
        change.source_id,
        change.target_id,
        change.message_ids,
        change.agent,
        change.at,
        undone,
    )


def audit_both(
    conn: Db,
    agent: str,
    action: str,
    change: ThreadingChange,
    now: float,
    **detail: Any,
) -> None:
    """One audit entry on each conversation the change touched."""
    common = {"change": change.id, "messages": list(change.message_ids), **detail}
    audit(conn, agent, action, change.target_id, {**common, "from": change.source_id}, now)
    audit(conn, agent, action, change.source_id, {**common, "to": change.target_id}, now)


# -- merge, split, move ---------------------------------------------------------------------


def merge(conn: Db, keep_id: int, other_id: int, agent: str) -> ThreadingChange:
    """Merge ``other_id`` into ``keep_id`` (see the module's rules). Raises
    :class:`NotFoundError`, :class:`UsageError` (one conversation, other channels)."""
    now = time.time()
    with conn.transaction():
        keep, other = _conversation(conn, keep_id), _conversation(conn, other_id)
        if keep.id == other.id:
            raise UsageError(
                "a conversation cannot be merged into itself"
                if keep_id == other_id
                else f"#{other_id} was merged into #{keep.id} already"
            )
        _same_channel(keep, other, "merge")
        before = snapshot(conn, keep.id, other.id)
        moved = move_messages(
            conn,
            message_ids(conn, other.id),
            keep.id,
            thread_reasons.MERGED,
            f"from #{other.id} by {agent}",
        )
        other_tags = tags_of(conn, other.id)
        added = sorted(set(other_tags) - set(tags_of(conn, keep.id)))
        add_tags(conn, keep.id, added)
        conn.execute("DELETE FROM conversation_tags WHERE conversation_id = ?", (other.id,))
        drafts = move_drafts(conn, other.id, keep.id, now)
        detail = {
            "messages": moved,
            "before": before,
            "tags": {"moved": other_tags, "added": added},
            "drafts": drafts,
            "reopened": _reopen_for(conn, keep.id, other.id, now),
        }
        change_id = record(conn, "merge", agent, now, other.id, keep.id, detail)
        conn.execute(
            "INSERT INTO conversation_redirects(conversation_id, target_id, change_id)"
            " VALUES (?, ?, ?)",
            (other.id, keep.id, change_id),
        )
        recount(conn, keep.id, now)
        recount(conn, other.id, now)
        recorded = load(conn, change_id)
        audit_both(conn, agent, "merge", recorded.change, now)
        if detail["reopened"] is not None:
            reason = f"#{other.id} merged into it was open"
            audit(conn, agent, "status", keep.id, {"to": "open", "reason": reason}, now)
    return recorded.change


def _reopen_for(conn: Db, keep: int, other: int, now: float) -> dict[str, Any] | None:
    """An open conversation merged into one that is not open reopens it (what the customer
    wrote there still needs an answer); returns the kept one's state before, or None."""
    (other_status,) = conn.execute(
        "SELECT status FROM conversations WHERE id = ?", (other,)
    ).fetchone()
    status, snooze_until, resolved_at = conn.execute(
        "SELECT status, snooze_until, resolved_at FROM conversations WHERE id = ?", (keep,)
    ).fetchone()
    if other_status != "open" or status == "open":
        return None
    conn.execute(
        "UPDATE conversations SET status = 'open', snooze_until = NULL, resolved_at = NULL"
        " WHERE id = ?",
        (keep,),
    )
    return {"status": status, "snooze_until": snooze_until, "resolved_at": resolved_at}


def split(conn: Db, message_id: int, agent: str, *, only: bool = False) -> ThreadingChange:
    """Split the conversation of ``message_id`` at it into a new one (that message and the
    later ones; with ``only`` that message alone). Raises :class:`NotFoundError`,
    :class:`UsageError` when nothing would be left behind."""
    now = time.time()
    with conn.transaction():
        source = _message_conversation(conn, message_id)
        sent_at, subject = conn.execute(
            "SELECT sent_at, subject FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if only:
            taken = [message_id]
        else:
            taken = [
                int(r[0])
                for r in conn.execute(
                    "SELECT id FROM messages WHERE conversation_id = ?"
                    " AND (sent_at > ? OR (sent_at = ? AND id >= ?)) ORDER BY sent_at, id",
                    (source.id, sent_at, sent_at, message_id),
                )
            ]
        if len(taken) == len(message_ids(conn, source.id)):
            raise UsageError(
                f"message {message_id} is the first of #{source.id}: splitting there would"
                " leave it empty; split at a later message (or split --only this one)"
            )
        placeholders = ", ".join("?" * len(taken))
        customer = conn.execute(
            "SELECT contact_id FROM messages WHERE direction = 'in' AND contact_id IS NOT NULL"
            f" AND id IN ({placeholders}) ORDER BY sent_at, id LIMIT 1",
            taken,
        ).fetchone()
        before = snapshot(conn, source.id)
        takes_key = not only and source.thread_key is not None
        answers_on = source.thread_key if source.thread_key is not None else source.reply_thread_key
        if takes_key:
            # The thread key is unique to one conversation: free it before the new one
            # takes it; the original answers on it still.
            conn.execute(
                "UPDATE conversations SET thread_key = NULL, reply_thread_key = ? WHERE id = ?",
                (source.thread_key, source.id),
            )
        (new_id,) = conn.execute(
            "INSERT INTO conversations(channel_id, thread_key, reply_thread_key, contact_id,"
            " subject, preview, status, priority, assignee, created_at, updated_at,"
            " last_message_at, url) VALUES (?, ?, ?, ?, ?, '', 'open', ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                source.channel_id,
                source.thread_key if takes_key else None,
                source.reply_thread_key if takes_key else answers_on,
                customer[0] if customer else source.contact_id,
                subject.strip() or source.subject,
                source.priority,
                source.assignee,
                sent_at,
                now,
                sent_at,
                source.url,
            ),
        ).fetchone()
        add_tags(conn, new_id, tags_of(conn, source.id))
        moved = move_messages(
            conn, taken, new_id, thread_reasons.SPLIT, f"from #{source.id} by {agent}"
        )
        detail = {
            "messages": moved,
            "before": before,
            "only": only,
            "at": message_id,
            "thread_key": {
                "moved": takes_key,
                "key": source.thread_key,
                "reply_key": source.reply_thread_key,
            },
        }
        change_id = record(conn, "split", agent, now, source.id, new_id, detail)
        recount(conn, source.id, now)
        recount(conn, new_id, now)
        recorded = load(conn, change_id)
        audit_both(conn, agent, "split", recorded.change, now, split_at=message_id, only=only)
    return recorded.change


def move(conn: Db, message_id: int, conversation_id: int, agent: str) -> ThreadingChange:
    """Move one message to ``conversation_id`` (a merged one: where it was merged to).
    Raises :class:`NotFoundError`, :class:`UsageError` (already there, other channel, the
    only message of its conversation)."""
    now = time.time()
    with conn.transaction():
        source = _message_conversation(conn, message_id)
        target = _conversation(conn, conversation_id)
        if source.id == target.id:
            raise UsageError(f"message {message_id} is in #{target.id} already")
        _same_channel(source, target, "moving a message")
        if message_ids(conn, source.id) == [message_id]:
            raise UsageError(
                f"message {message_id} is the only one of #{source.id}: merge the"
                f" conversation instead (agentconsole merge {target.id} {source.id})"
            )
        before = snapshot(conn, source.id, target.id)
        moved = move_messages(
            conn, [message_id], target.id, thread_reasons.MOVED, f"from #{source.id} by {agent}"
        )
        detail = {"messages": moved, "before": before}
        change_id = record(conn, "move", agent, now, source.id, target.id, detail)
        recount(conn, source.id, now)
        recount(conn, target.id, now)
        recorded = load(conn, change_id)
        audit_both(conn, agent, "move", recorded.change, now)
    return recorded.change


def change(conn: Db, change_id: int) -> ThreadingChange:
    """The merge, split or move ``change_id``. Raises :class:`NotFoundError`."""
    return load(conn, change_id).change
