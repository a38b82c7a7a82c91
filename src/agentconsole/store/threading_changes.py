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
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import thread_reasons
from ..errors import ConflictError, NotFoundError, UsageError
from ..models import ThreadingChange
from . import redirects
from .columns import Columns
from .connection import write_transaction
from .ingest_sql import preview_of
from .writes import audit

Kind = Literal["merge", "split", "move"]
KINDS: tuple[Kind, ...] = ("merge", "split", "move")

#: The columns a change recomputes and an undo puts back.
_COUNTERS = ("message_count", "last_message_at", "waiting_since", "preview", "first_response_at")


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


def _conversation(conn: sqlite3.Connection, asked: int) -> _Conversation:
    """The conversation ``asked`` stands for (following a merge). Raises NotFoundError."""
    row = conn.execute(
        f"SELECT {_CONVERSATION.sql} FROM conversations WHERE id = ?",
        (redirects.resolve(conn, asked),),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no conversation {asked}")
    return _CONVERSATION.build(row)


def _message_conversation(conn: sqlite3.Connection, message_id: int) -> _Conversation:
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


def _message_ids(conn: sqlite3.Connection, conversation_id: int) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        )
    ]


def _snapshot(conn: sqlite3.Connection, *conversation_ids: int) -> dict[str, Any]:
    """Each conversation's counters and message ids, for the undo."""
    counters = {}
    for conversation_id in conversation_ids:
        row = conn.execute(
            f"SELECT {', '.join(_COUNTERS)} FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        counters[str(conversation_id)] = dict(zip(_COUNTERS, row, strict=True))
    ids = {str(c): _message_ids(conn, c) for c in conversation_ids}
    return {"counters": counters, "ids": ids}


def recount(conn: sqlite3.Connection, conversation_id: int, now: float) -> None:
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


def _settle(
    conn: sqlite3.Connection, conversation_id: int, before: dict[str, Any], now: float
) -> None:
    """After an undo: the counters as they were when the conversation holds exactly the
    messages it held, else recomputed (messages arrived meanwhile)."""
    key = str(conversation_id)
    if _message_ids(conn, conversation_id) != before["ids"].get(key):
        recount(conn, conversation_id, now)
        return
    counters = before["counters"][key]
    conn.execute(
        f"UPDATE conversations SET {', '.join(f'{c} = ?' for c in _COUNTERS)}, updated_at = ?"
        " WHERE id = ?",
        (*(counters[c] for c in _COUNTERS), now, conversation_id),
    )


# -- messages, tags, drafts ---------------------------------------------------------------

#: A moved message as recorded: [message id, conversation, reason, reason detail] before.
_Moved = list[Any]


def _move_messages(
    conn: sqlite3.Connection,
    message_ids: Sequence[int],
    target: int,
    reason: str,
    detail: str,
) -> list[_Moved]:
    """Move messages to ``target`` with a new reason; returns what each was before."""
    moved: list[_Moved] = []
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


def _put_back(conn: sqlite3.Connection, moved: Sequence[_Moved], now_in: int) -> None:
    """Messages recorded by :func:`_move_messages` back where they were, with their
    reasons (those still in ``now_in``)."""
    conn.executemany(
        "UPDATE messages SET conversation_id = ?, thread_reason = ?, thread_reason_detail = ?"
        " WHERE id = ? AND conversation_id = ?",
        [
            (conversation_id, reason, detail, message_id, now_in)
            for message_id, conversation_id, reason, detail in moved
        ],
    )


def _tags(conn: sqlite3.Connection, conversation_id: int) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT tag FROM conversation_tags WHERE conversation_id = ? ORDER BY tag",
            (conversation_id,),
        )
    ]


def _add_tags(conn: sqlite3.Connection, conversation_id: int, tags: Sequence[str]) -> None:
    conn.executemany(
        "INSERT INTO conversation_tags(conversation_id, tag) VALUES (?, ?)"
        " ON CONFLICT (conversation_id, tag) DO NOTHING",
        [(conversation_id, tag) for tag in tags],
    )


def _move_drafts(conn: sqlite3.Connection, source: int, target: int, now: float) -> list[Any]:
    """Every draft of ``source`` into ``target`` (appended to the same agent's draft of the
    same kind there); returns what the undo needs: each draft, what ``target`` had, what
    was written."""
    moved = []
    for agent, kind, body, updated_at in conn.execute(
        "SELECT agent, kind, body, updated_at FROM drafts WHERE conversation_id = ?"
        " ORDER BY agent, kind",
        (source,),
    ).fetchall():
        there = conn.execute(
            "SELECT body, updated_at FROM drafts WHERE conversation_id = ? AND agent = ?"
            " AND kind = ?",
            (target, agent, kind),
        ).fetchone()
        if there is None:
            written = body
            conn.execute(
                "INSERT INTO drafts(conversation_id, agent, kind, body, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (target, agent, kind, body, updated_at),
            )
        else:
            written = there[0].rstrip("\n") + "\n\n" + body
            conn.execute(
                "UPDATE drafts SET body = ?, updated_at = ? WHERE conversation_id = ?"
                " AND agent = ? AND kind = ?",
                (written, now, target, agent, kind),
            )
        moved.append(
            {
                "agent": agent,
                "kind": kind,
                "body": body,
                "updated_at": updated_at,
                "target_had": list(there) if there else None,
                "written": written,
            }
        )
    conn.execute("DELETE FROM drafts WHERE conversation_id = ?", (source,))
    return moved


def _restore_drafts(
    conn: sqlite3.Connection, source: int, target: int, moved: Sequence[dict[str, Any]]
) -> None:
    """Undo :func:`_move_drafts`: each draft back on ``source``; ``target``'s as it was,
    unless an agent edited it since (then their text stays)."""
    for draft in moved:
        conn.execute(
            "INSERT INTO drafts(conversation_id, agent, kind, body, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, agent, kind) DO NOTHING",
            (source, draft["agent"], draft["kind"], draft["body"], draft["updated_at"]),
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
                "UPDATE drafts SET body = ?, updated_at = ? WHERE conversation_id = ?"
                " AND agent = ? AND kind = ?",
                (*draft["target_had"], *key),
            )


# -- the change log -------------------------------------------------------------------------


def _record(
    conn: sqlite3.Connection,
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
class _Recorded:
    change: ThreadingChange
    detail: dict[str, Any]


def _load(conn: sqlite3.Connection, change_id: int) -> _Recorded:
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
    return _Recorded(change, detail)


def _changed(recorded: _Recorded, *, undone: bool = False) -> ThreadingChange:
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


def _audit_both(
    conn: sqlite3.Connection,
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


def merge(conn: sqlite3.Connection, keep_id: int, other_id: int, agent: str) -> ThreadingChange:
    """Merge ``other_id`` into ``keep_id`` (see the module's rules). Raises
    :class:`NotFoundError`, :class:`UsageError` (one conversation, other channels)."""
    now = time.time()
    with write_transaction(conn):
        keep, other = _conversation(conn, keep_id), _conversation(conn, other_id)
        if keep.id == other.id:
            raise UsageError(
                "a conversation cannot be merged into itself"
                if keep_id == other_id
                else f"#{other_id} was merged into #{keep.id} already"
            )
        _same_channel(keep, other, "merge")
        before = _snapshot(conn, keep.id, other.id)
        moved = _move_messages(
            conn,
            _message_ids(conn, other.id),
            keep.id,
            thread_reasons.MERGED,
            f"from #{other.id} by {agent}",
        )
        other_tags = _tags(conn, other.id)
        added = sorted(set(other_tags) - set(_tags(conn, keep.id)))
        _add_tags(conn, keep.id, added)
        conn.execute("DELETE FROM conversation_tags WHERE conversation_id = ?", (other.id,))
        drafts = _move_drafts(conn, other.id, keep.id, now)
        detail = {
            "messages": moved,
            "before": before,
            "tags": {"moved": other_tags, "added": added},
            "drafts": drafts,
            "reopened": _reopen_for(conn, keep.id, other.id, now),
        }
        change_id = _record(conn, "merge", agent, now, other.id, keep.id, detail)
        conn.execute(
            "INSERT INTO conversation_redirects(conversation_id, target_id, change_id)"
            " VALUES (?, ?, ?)",
            (other.id, keep.id, change_id),
        )
        recount(conn, keep.id, now)
        recount(conn, other.id, now)
        recorded = _load(conn, change_id)
        _audit_both(conn, agent, "merge", recorded.change, now)
        if detail["reopened"] is not None:
            reason = f"#{other.id} merged into it was open"
            audit(conn, agent, "status", keep.id, {"to": "open", "reason": reason}, now)
    return recorded.change


def _reopen_for(
    conn: sqlite3.Connection, keep: int, other: int, now: float
) -> dict[str, Any] | None:
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


def split(
    conn: sqlite3.Connection, message_id: int, agent: str, *, only: bool = False
) -> ThreadingChange:
    """Split the conversation of ``message_id`` at it into a new one (that message and the
    later ones; with ``only`` that message alone). Raises :class:`NotFoundError`,
    :class:`UsageError` when nothing would be left behind."""
    now = time.time()
    with write_transaction(conn):
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
        if len(taken) == len(_message_ids(conn, source.id)):
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
        before = _snapshot(conn, source.id)
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
        _add_tags(conn, new_id, _tags(conn, source.id))
        moved = _move_messages(
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
        change_id = _record(conn, "split", agent, now, source.id, new_id, detail)
        recount(conn, source.id, now)
        recount(conn, new_id, now)
        recorded = _load(conn, change_id)
        _audit_both(conn, agent, "split", recorded.change, now, split_at=message_id, only=only)
    return recorded.change


def move(
    conn: sqlite3.Connection, message_id: int, conversation_id: int, agent: str
) -> ThreadingChange:
    """Move one message to ``conversation_id`` (a merged one: where it was merged to).
    Raises :class:`NotFoundError`, :class:`UsageError` (already there, other channel, the
    only message of its conversation)."""
    now = time.time()
    with write_transaction(conn):
        source = _message_conversation(conn, message_id)
        target = _conversation(conn, conversation_id)
        if source.id == target.id:
            raise UsageError(f"message {message_id} is in #{target.id} already")
        _same_channel(source, target, "moving a message")
        if _message_ids(conn, source.id) == [message_id]:
            raise UsageError(
                f"message {message_id} is the only one of #{source.id}: merge the"
                f" conversation instead (agentconsole merge {target.id} {source.id})"
            )
        before = _snapshot(conn, source.id, target.id)
        moved = _move_messages(
            conn, [message_id], target.id, thread_reasons.MOVED, f"from #{source.id} by {agent}"
        )
        detail = {"messages": moved, "before": before}
        change_id = _record(conn, "move", agent, now, source.id, target.id, detail)
        recount(conn, source.id, now)
        recount(conn, target.id, now)
        recorded = _load(conn, change_id)
        _audit_both(conn, agent, "move", recorded.change, now)
    return recorded.change


# -- undo -------------------------------------------------------------------------------------


def change(conn: sqlite3.Connection, change_id: int) -> ThreadingChange:
    """The merge, split or move ``change_id``. Raises :class:`NotFoundError`."""
    return _load(conn, change_id).change


def undo(
    conn: sqlite3.Connection, change_id: int, agent: str, kind: str | None = None
) -> ThreadingChange:
    """Undo change ``change_id`` (when ``kind`` is given, it must be one), audited.

    Raises :class:`NotFoundError`; :class:`UsageError` for another kind;
    :class:`ConflictError` when it was undone already or a later change touched its
    conversations (undo that one first)."""
    now = time.time()
    with write_transaction(conn):
        recorded = _load(conn, change_id)
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
        _audit_both(conn, agent, audit_action, found, now)
    return _changed(recorded, undone=True)


def _unmerge(conn: sqlite3.Connection, recorded: _Recorded, agent: str, now: float) -> None:
    keep, other = recorded.change.target_id, recorded.change.source_id
    detail = recorded.detail
    _put_back(conn, detail["messages"], keep)
    conn.execute(
        "DELETE FROM conversation_redirects WHERE conversation_id = ? AND change_id = ?",
        (other, recorded.change.id),
    )
    _add_tags(conn, other, detail["tags"]["moved"])
    conn.executemany(
        "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?",
        [(keep, tag) for tag in detail["tags"]["added"]],
    )
    _restore_drafts(conn, other, keep, detail["drafts"])
    reopened = detail.get("reopened")
    if reopened is not None:
        # Put the kept one's status back, unless an agent changed it since.
        conn.execute(
            "UPDATE conversations SET status = ?, snooze_until = ?, resolved_at = ?"
            " WHERE id = ? AND status = 'open'",
            (reopened["status"], reopened["snooze_until"], reopened["resolved_at"], keep),
        )
    _settle(conn, keep, detail["before"], now)
    _settle(conn, other, detail["before"], now)


def _unsplit(conn: sqlite3.Connection, recorded: _Recorded, agent: str, now: float) -> None:
    source, new = recorded.change.source_id, recorded.change.target_id
    detail = recorded.detail
    _put_back(conn, detail["messages"], new)
    # Whatever arrived in the split-off part since goes back with it.
    _move_messages(
        conn,
        _message_ids(conn, new),
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
    _move_drafts(conn, new, source, now)
    conn.execute("DELETE FROM conversation_tags WHERE conversation_id = ?", (new,))
    conn.execute(
        "INSERT INTO conversation_redirects(conversation_id, target_id, change_id)"
        " VALUES (?, ?, ?)",
        (new, source, recorded.change.id),
    )
    _settle(conn, source, detail["before"], now)
    recount(conn, new, now)


def _unmove(conn: sqlite3.Connection, recorded: _Recorded, agent: str, now: float) -> None:
    source, target = recorded.change.source_id, recorded.change.target_id
    _put_back(conn, recorded.detail["messages"], target)
    _settle(conn, source, recorded.detail["before"], now)
    _settle(conn, target, recorded.detail["before"], now)


_UNDO: dict[str, Callable[[sqlite3.Connection, _Recorded, str, float], None]] = {
    "merge": _unmerge,
    "split": _unsplit,
    "move": _unmove,
}
