"""Taking a reply back during its undo window (``unsend``) and the agents a store knows.

A reply queued with an undo window (``queue_reply(..., hold_seconds=...)``) waits in the
outbox: no sender claims it before ``next_attempt_at``. :func:`unsend` takes it back in one
transaction — the outbox entry and the message go, the text becomes the agent's reply draft
again (with the saved replies' actions the draft kept, which apply when it is sent), and
the conversation is put back as the reply found it — so nothing goes out and nothing
written is lost. A sender's claim and an unsend both take the write lock first
(``BEGIN IMMEDIATE``): exactly one of them wins.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConflictError, NotFoundError
from . import draft_macros
from .db import Db
from .writes import audit, delete_message

#: Fields of the conversation a reply changes, restored on unsend (see ``BeforeReply``).
_STATE_FIELDS = ("status", "assignee", "resolved_at")
#: What became of a reply whose window is over, by outbox state.
_WHERE_NOW = {
    "queued": "due to be sent",
    "sending": "handed to the channel",
    "sent": "sent",
    "failed": "failed",
}


class WindowOverError(ConflictError):
    """The reply's undo window is over: a sender has it, or soon will."""


@dataclass(frozen=True, slots=True)
class UnsentReply:
    """A reply taken back: where it was, its text (now the agent's draft again) and the
    names of the files it carried (they are not kept with a draft: attach them again)."""

    message_id: int
    conversation_id: int
    body: str
    attachment_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnsendRefusal:
    """A reply that could not be taken back: why, and the CLI's exit code for it (4: its
    window is over — it left and may be with the customer — or another agent wrote it; 3:
    not a reply in the outbox, e.g. already taken back)."""

    message_id: int
    reason: str
    exit_code: int
    #: Its window is over: it is on its way or gone (a follow-up corrects it).
    left: bool = False


@dataclass(frozen=True, slots=True)
class UnsendReport:
    """What taking several replies back did: those taken back (drafts again) and those
    refused, each in the order asked."""

    taken: tuple[UnsentReply, ...]
    refused: tuple[UnsendRefusal, ...]


def unsend_each(conn: Db, message_ids: Sequence[int], agent: str) -> UnsendReport:
    """:func:`unsend` for each of ``message_ids`` (a repeated id once), each in its own
    transaction: one that already left does not keep the others in the outbox."""
    taken: list[UnsentReply] = []
    refused: list[UnsendRefusal] = []
    for message_id in dict.fromkeys(message_ids):
        try:
            taken.append(unsend(conn, message_id, agent))
        except (NotFoundError, ConflictError) as error:
            left = isinstance(error, WindowOverError)
            refused.append(UnsendRefusal(message_id, str(error), error.exit_code, left))
    return UnsendReport(tuple(taken), tuple(refused))


def unsend(conn: Db, message_id: int, agent: str) -> UnsentReply:
    """Take ``agent``'s reply ``message_id`` back while it waits in its undo window.

    Raises :class:`NotFoundError` when it is not a reply in the outbox, and
    :class:`ConflictError` when another agent wrote it or when its window has passed (a
    sender took it, it was sent or failed): then it may already be with the customer."""
    now = time.time()
    with conn.transaction():
        row = conn.execute(
            "SELECT o.id, o.state, o.attempts, o.next_attempt_at, m.conversation_id, m.agent,"
            " m.body, m.sent_at, m.search_key, m.subject, m.author_name"
            " FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.message_id = ?"
            # Locked: a sender claiming it at this moment either waits for the take-back or
            # has it already (then it is sending, and this refuses).
            + conn.dialect.row_lock("o", skip_locked=False),
            (message_id,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"message {message_id} is not a reply waiting in the outbox")
        (
            outbox_id,
            state,
            attempts,
            due,
            conversation_id,
            author,
            body,
            sent_at,
            search_key,
            subject,
            author_name,
        ) = row
        if author != agent:
            raise ConflictError(
                f"reply {message_id} was written by {author}; only they can take it back"
            )
        if state != "queued" or attempts > 0 or due <= now:
            where = (
                _WHERE_NOW.get(state, state) if attempts == 0 or state != "queued" else "retried"
            )
            raise WindowOverError(
                f"reply {message_id} can no longer be taken back: its undo window is over"
                f" ({where}) — if it must be corrected, send a follow-up"
            )
        names = tuple(
            r[0]
            for r in conn.execute(
                "SELECT filename FROM attachments WHERE message_id = ? ORDER BY id", (message_id,)
            )
        )
        conn.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,))
        delete_message(conn, message_id)
        macros = _restore_conversation(conn, conversation_id, message_id, sent_at, agent, now)
        _keep_as_draft(conn, conversation_id, agent, body, macros, now)
        audit(conn, agent, "unsend", conversation_id, {"message": message_id}, now)
    return UnsentReply(message_id, conversation_id, body, names)


def _restore_conversation(
    conn: Db, conversation_id: int, message_id: int, sent_at: float, agent: str, now: float
) -> str | None:
    """Put back what the reply changed, where nothing changed it since: the status and
    assignment unless someone acted on the conversation after the reply; the tags its saved
    replies set (see :func:`_restore_tags`); the last message, waiting and first-response
    times unless a newer message set them. Returns the macros its draft kept
    (``drafts.macros``'s value), from the reply's audit entry."""
    before: dict[str, object] = {}
    macros: str | None = None
    tags_before: list[str] | None = None
    for at, detail in conn.execute(
        "SELECT at, detail FROM audit_log WHERE conversation_id = ? AND action = 'reply'"
        " ORDER BY id DESC LIMIT 50",
        (conversation_id,),
    ):
        data = json.loads(detail or "{}")
        if data.get("message") == message_id:
            before = data.get("before") or {}
            macros = data.get("macros")
            tags_before = data.get("tags_before")
            reply_at = at
            break
    conn.execute(
        "UPDATE conversations SET message_count = message_count - 1, updated_at = ? WHERE id = ?",
        (now, conversation_id),
    )
    if not before:
        return macros
    if macros and tags_before is not None:
        _restore_tags(conn, conversation_id, agent, macros, tags_before, reply_at, now)
    acted_since = conn.execute(
        "SELECT 1 FROM audit_log WHERE conversation_id = ? AND at > ?"
        " AND action IN ('status', 'assign', 'wake', 'undo') LIMIT 1",
        (conversation_id, reply_at),
    ).fetchone()
    if acted_since is None:
        conn.execute(
            "UPDATE conversations SET status = ?, assignee = ?, resolved_at = ? WHERE id = ?",
            (*(before.get(name) for name in _STATE_FIELDS), conversation_id),
        )
    conn.execute(
        "UPDATE conversations SET"
        " preview = CASE WHEN last_message_at = ? THEN ? ELSE preview END,"
        " last_message_at = CASE WHEN last_message_at = ? THEN ? ELSE last_message_at END,"
        " waiting_since = CASE WHEN waiting_since IS NULL THEN ? ELSE waiting_since END,"
        " first_response_at = CASE WHEN first_response_at = ? THEN ?"
        " ELSE first_response_at END"
        " WHERE id = ?",
        (
            sent_at,
            before.get("preview"),
            sent_at,
            before.get("last_message_at"),
            before.get("waiting_since"),
            sent_at,
            before.get("first_response_at"),
            conversation_id,
        ),
    )
    return macros


def _restore_tags(
    conn: Db,
    conversation_id: int,
    agent: str,
    macros: str,
    tags_before: Sequence[str],
    reply_at: float,
    now: float,
) -> None:
    """Take back the tag changes of the reply's saved replies (set with the send): a tag
    they added that the conversation did not have goes, one they removed comes back —
    unless another agent changed the tags since (then the tags stay as they are). Audited
    as a tag change."""
    changed_by_others = conn.execute(
        "SELECT 1 FROM audit_log WHERE conversation_id = ? AND at >= ? AND action = 'tag'"
        " AND agent != ? LIMIT 1",
        (conversation_id, reply_at, agent),
    ).fetchone()
    if changed_by_others is not None:
        return
    had = set(tags_before)
    added: set[str] = set()
    removed: set[str] = set()
    for macro in draft_macros.decode(macros):
        add, remove = macro.tag_changes
        added.update(add)
        removed.update(remove)
    drop = sorted(added - had)
    back = sorted((removed & had) - added)
    if not drop and not back:
        return
    conn.executemany(
        "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?",
        [(conversation_id, tag) for tag in drop],
    )
    conn.executemany(
        "INSERT INTO conversation_tags(conversation_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(conversation_id, tag) for tag in back],
    )
    detail = {"add": back, "remove": drop, "reason": "reply taken back"}
    audit(conn, agent, "tag", conversation_id, detail, now)


def _keep_as_draft(
    conn: Db, conversation_id: int, agent: str, body: str, macros: str | None, now: float
) -> None:
    """The reply's text, with its saved replies' ``macros``, becomes the agent's reply
    draft; a draft begun since stays after it, with its own."""
    row = conn.execute(
        "SELECT body, macros FROM drafts WHERE conversation_id = ? AND agent = ?"
        " AND kind = 'reply'",
        (conversation_id, agent),
    ).fetchone()
    if row is not None and row[0].strip():
        body = f"{body}\n\n{row[0]}"
        macros = draft_macros.joined(macros, row[1])
    conn.execute(
        "INSERT INTO drafts(conversation_id, agent, kind, body, updated_at, macros)"
        " VALUES (?, ?, 'reply', ?, ?, ?) ON CONFLICT(conversation_id, agent, kind)"
        " DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at,"
        " macros = excluded.macros",
        (conversation_id, agent, body, now, macros),
    )


def known_agents(conn: Db) -> list[str]:
    """Every agent the store knows — who holds a conversation, who wrote a reply or a note,
    who acted (the audit log) — by name; ``system`` is not an agent."""
    rows = conn.execute(
        "SELECT assignee FROM conversations WHERE assignee IS NOT NULL"
        " UNION SELECT agent FROM messages WHERE agent IS NOT NULL"
        " UNION SELECT agent FROM audit_log WHERE agent != 'system'"
    ).fetchall()
    return sorted({str(r[0]) for r in rows if r[0]})
