"""Agent actions, the outbox, drafts, channels and leases. Every agent action is audited
in the same transaction as the change it records."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import get_args

from .. import thread_reasons
from ..errors import ConflictError, NotFoundError, UsageError
from ..models import (
    ACTIVE_STATUSES,
    Change,
    DraftActivity,
    DraftMacro,
    FollowUp,
    IdentityRecord,
    OutboxItem,
)
from ..plugin import Attachment, ChannelKind
from ..processes import ProcessIdentity, is_gone
from . import changes, draft_macros, redirects
from .columns import Columns
from .db import Db
from .inbound_text import agent_text
from .ingest_sql import merge_contacts, preview_of
from .upkeep import snoozed_due
from .writes import NewMessage, audit, delete_message, insert_message

#: How long a claimed reply stays "sending" before another sender may try it again.
SENDING_LEASE_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class _State:
    """What an action checks before changing a conversation."""

    status: str
    assignee: str | None
    priority: int
    snooze_until: float | None


_STATE = Columns(
    _State,
    {
        "status": "status",
        "assignee": "assignee",
        "priority": "priority",
        "snooze_until": "snooze_until",
    },
)
#: The kinds of draft an agent keeps per conversation.
DRAFT_KINDS = ("reply", "note")
CHANNEL_KINDS: tuple[ChannelKind, ...] = get_args(ChannelKind)
#: What a conversation may become as a reply is sent.
REPLY_THEN_STATUSES = (*ACTIVE_STATUSES, "closed")


def _current(conn: Db, conversation_id: int) -> _State:
    """The conversation's state; raises :class:`NotFoundError` when there is none."""
    row = conn.execute(
        f"SELECT {_STATE.sql} FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    return _STATE.build(row)


def _change_one(conn: Db, conversation_id: int, change: Change, agent: str) -> bool:
    """One conversation's change in its own transaction: True when it changed anything.
    Raises :class:`NotFoundError`, :class:`ConflictError` or :class:`UsageError`."""
    changes.check(change)
    with conn.transaction():
        return changes.apply_one(conn, conversation_id, change, agent, time.time()).changed


def assign(conn: Db, conversation_id: int, assignee: str | None, agent: str, force: bool) -> bool:
    """Assign (or, with ``None``, unassign). Taking a conversation another agent holds is a
    :class:`ConflictError` unless ``force``: nobody loses a conversation silently."""
    return _change_one(
        conn, conversation_id, Change("assign", assignee=assignee, force=force), agent
    )


def set_status(
    conn: Db,
    conversation_id: int,
    status: str,
    agent: str,
    snooze_until: float | None = None,
) -> bool:
    change = Change("status", status=status, snooze_until=snooze_until)
    return _change_one(conn, conversation_id, change, agent)


def wake_snoozed(conn: Db, now: float | None = None) -> list[int]:
    """Reopen every snoozed conversation whose time has come."""
    now = now or time.time()
    due = snoozed_due(conn, now)
    if not due:
        return []
    with conn.transaction():
        for conversation_id in due:
            changed = conn.execute(
                "UPDATE conversations SET status = 'open', snooze_until = NULL, updated_at = ?"
                " WHERE id = ? AND status = 'snoozed' AND snooze_until <= ?",
                (now, conversation_id, now),
            ).rowcount
            if changed:
                audit(conn, "system", "wake", conversation_id, {}, now)
    return due


def set_priority(conn: Db, conversation_id: int, rank: int, agent: str) -> bool:
    return _change_one(conn, conversation_id, Change("priority", rank=rank), agent)


def retag(
    conn: Db,
    conversation_id: int,
    add: Iterable[str],
    remove: Iterable[str],
    agent: str,
) -> bool:
    change = Change("tags", add=tuple(add), remove=tuple(remove))
    return _change_one(conn, conversation_id, change, agent)


def _insert_agent_message(
    conn: Db,
    conversation_id: int,
    direction: str,
    body: str,
    agent: str,
    author_name: str,
    now: float,
    attachments: Sequence[Attachment] = (),
) -> int:
    """Store a note or a reply written by ``agent`` and clear that agent's draft of it."""
    body = agent_text(body, "the note" if direction == "note" else "the reply")
    channel_id, subject = conn.execute(
        "SELECT channel_id, subject FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    message_id = insert_message(
        conn,
        NewMessage(
            conversation_id=conversation_id,
            channel_id=channel_id,
            direction=direction,
            author_name=author_name,
            agent=agent,
            sent_at=now,
            created_at=now,
            subject=subject,
            body=body,
            attachments=tuple(attachments),
            thread_reason=thread_reasons.AGENT,
            thread_reason_detail=agent,
        ),
    )
    conn.execute(
        "DELETE FROM drafts WHERE conversation_id = ? AND agent = ? AND kind = ?",
        (conversation_id, agent, "note" if direction == "note" else "reply"),
    )
    return message_id


def add_note(conn: Db, conversation_id: int, body: str, agent: str, author_name: str) -> int:
    if not body.strip():
        raise UsageError("an empty note was not saved")
    now = time.time()
    with conn.transaction():
        conversation_id = redirects.resolve(conn, conversation_id)  # merged: the kept one
        _current(conn, conversation_id)
        message_id = _insert_agent_message(
            conn, conversation_id, "note", body, agent, author_name, now
        )
        conn.execute(
            "UPDATE conversations SET message_count = message_count + 1, updated_at = ?"
            " WHERE id = ?",
            (now, conversation_id),
        )
        audit(conn, agent, "note", conversation_id, {"message": message_id}, now)
    return message_id


def queue_reply(
    conn: Db,
    conversation_id: int,
    body: str,
    agent: str,
    author_name: str,
    then_status: str | None = None,
    attachments: Sequence[Attachment] = (),
    seen_up_to: int | None = None,
    hold_seconds: float = 0.0,
    assign_to: str | None = None,
    macros: Sequence[DraftMacro] = (),
) -> int:
    """Store the reply (with its attachments) and queue it for delivery in one transaction;
    return its message id.

    ``seen_up_to`` is the newest message id the agent had in front of them while writing:
    if another agent replied after it, nothing is stored and :class:`ConflictError` says
    who and when — two agents never answer the same customer twice without knowing it.

    ``hold_seconds`` is the undo window: no sender may take the reply before it has passed
    (:func:`agentconsole.store.undo_send.unsend` takes it back meanwhile), and the reply's audit
    entry keeps what the conversation was before, for that undo. ``assign_to`` assigns an
    unassigned conversation in the same transaction (audited; an assigned one is left as
    it is). ``macros``, the saved replies inserted into the draft it was, are kept with
    the undo record (with the tags the conversation had): a reply taken back is a draft
    with them again, and the tags they set are taken back."""
    if not body.strip():
        raise UsageError("an empty reply was not sent")
    if then_status is not None and then_status not in REPLY_THEN_STATUSES:
        raise UsageError(
            f"after replying, status can be {', '.join(REPLY_THEN_STATUSES)}, not {then_status}"
        )
    now = time.time()
    with conn.transaction():
        conversation_id = redirects.resolve(conn, conversation_id)  # merged: the kept one
        state = _current(conn, conversation_id)
        if seen_up_to is not None:
            _check_collision(conn, conversation_id, agent, seen_up_to, now)
        before = _BEFORE_REPLY.build(
            conn.execute(
                f"SELECT {_BEFORE_REPLY.sql} FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        )
        message_id = _insert_agent_message(
            conn, conversation_id, "out", body, agent, author_name, now, attachments
        )
        channel_id = conn.execute(
            "SELECT channel_id FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO outbox(message_id, channel_id, idempotency_key, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            (message_id, channel_id, uuid.uuid4().hex, now + max(0.0, hold_seconds), now),
        )
        if assign_to is not None and state.assignee is None:
            conn.execute(
                "UPDATE conversations SET assignee = ? WHERE id = ?", (assign_to, conversation_id)
            )
            audit(conn, agent, "assign", conversation_id, {"from": None, "to": assign_to}, now)
        conn.execute(
            "UPDATE conversations SET message_count = message_count + 1, updated_at = ?,"
            " last_message_at = ?, preview = ?, waiting_since = NULL,"
            " first_response_at = coalesce(first_response_at, ?),"
            " status = coalesce(?, status),"
            " resolved_at = CASE WHEN ? = 'closed' THEN ? ELSE resolved_at END"
            " WHERE id = ?",
            (now, now, preview_of(body), now, then_status, then_status, now, conversation_id),
        )
        detail: dict[str, object] = {"message": message_id}
        if hold_seconds > 0:
            detail["before"] = asdict(before)
            if macros:
                detail["macros"] = draft_macros.encode(macros)
                # What its saved replies' tags (set after it) are taken back to on unsend.
                detail["tags_before"] = [
                    r[0]
                    for r in conn.execute(
                        "SELECT tag FROM conversation_tags WHERE conversation_id = ?",
                        (conversation_id,),
                    )
                ]
        audit(conn, agent, "reply", conversation_id, detail, now)
        if then_status:
            audit(conn, agent, "status", conversation_id, {"to": then_status}, now)
    return message_id


@dataclass(frozen=True, slots=True)
class BeforeReply:
    """What a reply changes on its conversation, as it was before (restored on unsend)."""

    status: str
    assignee: str | None
    resolved_at: float | None
    last_message_at: float | None
    preview: str | None
    waiting_since: float | None
    first_response_at: float | None


_BEFORE_REPLY = Columns(
    BeforeReply,
    {
        "status": "status",
        "assignee": "assignee",
        "resolved_at": "resolved_at",
        "last_message_at": "last_message_at",
        "preview": "preview",
        "waiting_since": "waiting_since",
        "first_response_at": "first_response_at",
    },
)


def _check_collision(
    conn: Db, conversation_id: int, agent: str, seen_up_to: int, now: float
) -> None:
    row = conn.execute(
        "SELECT coalesce(agent, author_name), sent_at FROM messages WHERE conversation_id = ?"
        " AND direction = 'out' AND id > ? AND coalesce(agent, '') != ?"
        " ORDER BY id DESC LIMIT 1",
        (conversation_id, seen_up_to, agent),
    ).fetchone()
    if row is not None:
        minutes = max(0, int((now - row[1]) // 60))
        when = "just now" if minutes < 1 else f"{minutes} min ago"
        raise ConflictError(
            f"{row[0]} replied to conversation {conversation_id} {when}, while you were "
            "writing; read their reply, then send yours anyway if it is still needed"
        )


_DRAFT = Columns(DraftActivity, {"agent": "agent", "kind": "kind", "updated_at": "updated_at"})


def other_drafts(conn: Db, conversation_id: int, agent: str, since: float) -> list[DraftActivity]:
    """Other agents' drafts on a conversation touched since ``since``, newest first."""
    return [
        _DRAFT.build(r)
        for r in conn.execute(
            f"SELECT {_DRAFT.sql} FROM drafts WHERE conversation_id = ? AND agent != ?"
            " AND updated_at >= ? ORDER BY updated_at DESC",
            (conversation_id, agent, since),
        )
    ]


def save_draft(
    conn: Db,
    conversation_id: int,
    agent: str,
    kind: str,
    body: str,
    macros: Sequence[DraftMacro] | None = None,
) -> None:
    """Write ``agent``'s draft; ``macros`` replace the ones it keeps (``None``: unchanged)."""
    if kind not in DRAFT_KINDS:
        raise UsageError(f"a draft is a {' or a '.join(DRAFT_KINDS)}, not {kind!r}")
    body = agent_text(body, "the draft")
    with conn.transaction():
        conversation_id = redirects.resolve(conn, conversation_id)  # merged: the kept one
        _current(conn, conversation_id)
        if body.strip():
            keep = macros is None
            conn.execute(
                "INSERT INTO drafts(conversation_id, agent, kind, body, updated_at, macros)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(conversation_id, agent, kind)"
                " DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at,"
                " macros = CASE WHEN ? = 1 THEN drafts.macros ELSE excluded.macros END",
                (
                    conversation_id,
                    agent,
                    kind,
                    body,
                    time.time(),
                    draft_macros.encode(macros or ()),
                    int(keep),
                ),
            )
        else:
            conn.execute(
                "DELETE FROM drafts WHERE conversation_id = ? AND agent = ? AND kind = ?",
                (conversation_id, agent, kind),
            )


def link_contacts(conn: Db, kept_id: int, merged_id: int, agent: str) -> None:
    if kept_id == merged_id:
        raise UsageError("a contact cannot be linked to itself")
    with conn.transaction():
        for contact_id in (kept_id, merged_id):
            if not conn.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone():
                raise NotFoundError(f"no contact {contact_id}")
        merge_contacts(conn, kept_id, merged_id, agent=agent, now=time.time())


def unlink_contacts(conn: Db, merged_id: int, agent: str, *, into: int | None = None) -> int:
    """Undo the latest merge of ``merged_id`` (or, with ``into``, the latest merge into that
    contact): its identities and conversations go back. Returns the restored contact id."""
    with conn.transaction():
        where, key = ("kept_id", into) if into is not None else ("merged_id", merged_id)
        row = conn.execute(
            "SELECT id, kept_id, merged_id, identities, conversations FROM contact_merges"
            f" WHERE {where} = ? ORDER BY id DESC LIMIT 1",
            (key,),
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"contact {key} has no link to undo"
                if into is not None
                else f"contact {merged_id} was never merged into another"
            )
        merge_id, kept_id, merged_id, identities, conversations = row
        for identity_id in json.loads(identities):
            conn.execute(
                "UPDATE identities SET contact_id = ? WHERE id = ?", (merged_id, identity_id)
            )
        for conversation_id in json.loads(conversations):
            conn.execute(
                "UPDATE conversations SET contact_id = ? WHERE id = ?",
                (merged_id, conversation_id),
            )
            conn.execute(
                "UPDATE messages SET contact_id = ? WHERE conversation_id = ? AND direction = 'in'",
                (merged_id, conversation_id),
            )
        conn.execute("DELETE FROM contact_merges WHERE id = ?", (merge_id,))
        audit(conn, agent, "contact.unmerge", None, {"kept": kept_id, "restored": merged_id})
    return int(merged_id)


# -- channels, cursors, leases ------------------------------------------------------------


def ensure_channel(conn: Db, name: str, type_name: str, kind: str) -> int:
    if kind not in CHANNEL_KINDS:
        raise UsageError(f"channel kind {kind!r} is not one of {', '.join(CHANNEL_KINDS)}")
    with conn.transaction():
        conn.execute(
            "INSERT INTO channels(name, type, kind) VALUES (?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET type = excluded.type, kind = excluded.kind",
            (name, type_name, kind),
        )
        return int(conn.execute("SELECT id FROM channels WHERE name = ?", (name,)).fetchone()[0])


def channel_id(conn: Db, name: str) -> int:
    row = conn.execute("SELECT id FROM channels WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFoundError(f"no channel named {name!r} in this store")
    return int(row[0])


def set_health(conn: Db, name: str, health: str, detail: str | None) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE channels SET health = ?, health_detail = ?, health_at = ? WHERE name = ?",
            (health, detail, time.time(), name),
        )


def acquire_lease(conn: Db, name: str, owner: str, ttl: float, process: ProcessIdentity) -> bool:
    """Take or renew the lease on a channel; false while another live owner holds it.

    ``owner`` names the holder; ``process`` is the process it runs in. A holder whose
    process is gone from this host (same host and boot, no process with its pid and start
    time) is replaced at once; a holder on another host only once its lease expired. When
    the previous holder is known dead, the replies it had claimed as sending are released
    for the new holder at once (their delivery is checked with ``find_sent`` before any
    resend), instead of waiting for their claims to expire.
    """
    now = time.time()
    with conn.transaction():
        row = conn.execute(
            "SELECT id, lease_owner, lease_expires, lease_host, lease_pid, lease_started"
            " FROM channels WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return False
        channel, held_by, expires, host, pid, started = row
        previous_dead = (
            held_by is not None
            and held_by != owner
            and host is not None
            and pid is not None
            and is_gone(ProcessIdentity(host, int(pid), started))
        )
        live_other = held_by is not None and held_by != owner and (expires or 0) >= now
        if live_other and not previous_dead:
            return False
        conn.execute(
            "UPDATE channels SET lease_owner = ?, lease_expires = ?, lease_host = ?,"
            " lease_pid = ?, lease_started = ? WHERE id = ?",
            (owner, now + ttl, process.host, process.pid, process.started, channel),
        )
        if previous_dead:
            _release_claims(conn, channel, now)
    return True


def _release_claims(conn: Db, channel: int, now: float) -> None:
    """Replies claimed as sending by a holder that stopped: due now (see claim_due_replies)."""
    conn.execute(
        "UPDATE outbox SET next_attempt_at = ? WHERE channel_id = ? AND state = 'sending'",
        (now, channel),
    )


def release_lease(conn: Db, name: str, owner: str) -> None:
    """Give the lease up (the holder stops): the next process takes over without waiting,
    and any reply still claimed as sending is due for it at once."""
    with conn.transaction():
        released = conn.execute(
            "UPDATE channels SET lease_owner = NULL, lease_expires = NULL, lease_host = NULL,"
            " lease_pid = NULL, lease_started = NULL WHERE name = ? AND lease_owner = ?",
            (name, owner),
        ).rowcount
        if released:
            _release_claims(conn, channel_id(conn, name), time.time())


# -- outbox ---------------------------------------------------------------------------------


def claim_due_replies(conn: Db, channel: str, limit: int = 20) -> list[OutboxItem]:
    """Claim replies due for (re)delivery on a channel: they become ``sending`` for a while,
    so a sender that crashes mid-send leaves them to be retried, not lost. A reply claimed
    again while still ``sending`` (its sender stopped) comes back ``uncertain``."""
    now = time.time()
    items: list[OutboxItem] = []
    # Each reply is locked as it is claimed (others are skipped, not waited for): a claim
    # runs beside other writers, and whoever else changes an outbox row (unsend) locks it.
    with conn.transaction(row_locks=True):
        rows = conn.execute(
            "SELECT o.id, o.message_id, m.conversation_id, o.idempotency_key, o.attempts, m.body,"
            " c.subject, coalesce(c.thread_key, c.reply_thread_key), c.contact_id,"
            " m.author_name, o.state"
            " FROM outbox o JOIN channels ch ON ch.id = o.channel_id"
            " JOIN messages m ON m.id = o.message_id JOIN conversations c ON c.id = m.conversation_id"
            " WHERE ch.name = ? AND o.state IN ('queued', 'sending') AND o.next_attempt_at <= ?"
            " ORDER BY o.id LIMIT ?" + conn.dialect.row_lock("o", skip_locked=True),
            (channel, now, limit),
        ).fetchall()
        for (
            outbox_id,
            message_id,
            conversation_id,
            key,
            attempts,
            body,
            subject,
            thread_key,
            contact_id,
            author_name,
            state,
        ) in rows:
            conn.execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1,"
                " next_attempt_at = ? WHERE id = ?",
                (now + SENDING_LEASE_SECONDS, outbox_id),
            )
            references = tuple(
                r[0]
                for r in conn.execute(
                    "SELECT external_id FROM messages WHERE conversation_id = ?"
                    " AND external_id IS NOT NULL AND direction != 'note' ORDER BY sent_at, id",
                    (conversation_id,),
                )
            )
            answered = conn.execute(
                "SELECT external_id, author_namespace, author_address, participants FROM messages"
                " WHERE conversation_id = ? AND direction = 'in' AND automated = 0"
                " ORDER BY sent_at DESC, id DESC LIMIT 1",
                (conversation_id,),
            ).fetchone()
            recipients: list[IdentityRecord] = []
            if answered and answered[1]:
                recipients.append(IdentityRecord(answered[1], answered[2]))
            cc = tuple(
                IdentityRecord(namespace, address)
                for namespace, address in json.loads(
                    answered[3] if answered and answered[3] else "[]"
                )
                if IdentityRecord(namespace, address) not in recipients[:1]
            )
            for namespace, address in conn.execute(
                "SELECT namespace, address FROM identities WHERE contact_id = ? ORDER BY id",
                (contact_id,),
            ):
                if IdentityRecord(namespace, address) not in recipients:
                    recipients.append(IdentityRecord(namespace, address))
            files = tuple(
                Attachment(name, content_type, bytes(data))
                for name, content_type, data in conn.execute(
                    "SELECT a.filename, a.content_type, b.data FROM attachments a"
                    " JOIN blobs b ON b.sha256 = a.sha256 WHERE a.message_id = ? ORDER BY a.id",
                    (message_id,),
                )
            )
            items.append(
                OutboxItem(
                    id=outbox_id,
                    message_id=message_id,
                    conversation_id=conversation_id,
                    channel=channel,
                    idempotency_key=key,
                    attempts=attempts + 1,
                    body=body,
                    subject=subject,
                    thread_key=thread_key,
                    in_reply_to=answered[0] if answered else None,
                    references=references,
                    recipients=tuple(recipients),
                    author_name=author_name,
                    attachments=files,
                    cc=cc,
                    uncertain=state == "sending",
                )
            )
    return items


def _drop_echo(conn: Db, message_id: int, external_id: str) -> None:
    """Remove our own reply as the channel echoed it back (a Sent folder, a sync of our own
    chat line), ingested before the outbox recorded its id: the outbox copy stays, the echo
    goes, so the thread shows the reply once."""
    row = conn.execute(
        "SELECT e.id, e.conversation_id"
        " FROM messages e JOIN messages m ON m.channel_id = e.channel_id"
        " WHERE m.id = ? AND e.external_id = ? AND e.id != m.id AND e.direction = 'out'",
        (message_id, external_id),
    ).fetchone()
    if row is None:
        return
    echo_id, conversation_id = row
    delete_message(conn, echo_id)
    conn.execute(
        "UPDATE conversations SET message_count = message_count - 1 WHERE id = ?",
        (conversation_id,),
    )


def mark_sent(
    conn: Db,
    outbox_id: int,
    external_id: str,
    url: str | None,
    follow_up: bytes | None = None,
) -> None:
    """The channel accepted the reply: sent, with the channel's id for it, and (in the same
    transaction) the follow-up work ``follow_up`` the plugin asked for, due at once."""
    now = time.time()
    with conn.transaction():
        message_id = conn.execute(
            "SELECT message_id FROM outbox WHERE id = ?", (outbox_id,)
        ).fetchone()[0]
        _drop_echo(conn, message_id, external_id)
        conn.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
            (now, outbox_id),
        )
        conn.execute(
            "UPDATE messages SET external_id = ?, url = coalesce(?, url) WHERE id = ?",
            (external_id, url, message_id),
        )
        if follow_up is not None:
            conn.execute(
                "INSERT INTO outbox_followups(outbox_id, data, next_attempt_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (outbox_id, follow_up, now),
            )


def due_followups(conn: Db, channel: str, limit: int = 20) -> list[FollowUp]:
    """Follow-ups of sent replies on ``channel`` that are due (not done, not waiting)."""
    rows = conn.execute(
        "SELECT f.outbox_id, o.message_id, m.external_id, f.data, f.attempts"
        " FROM outbox_followups f JOIN outbox o ON o.id = f.outbox_id"
        " JOIN channels ch ON ch.id = o.channel_id JOIN messages m ON m.id = o.message_id"
        " WHERE ch.name = ? AND f.done_at IS NULL AND f.next_attempt_at <= ?"
        " ORDER BY f.outbox_id LIMIT ?",
        (channel, time.time(), limit),
    ).fetchall()
    return [FollowUp(r[0], r[1], r[2] or "", bytes(r[3]), r[4]) for r in rows]


def finish_followup(
    conn: Db,
    outbox_id: int,
    *,
    error: str | None = None,
    retry_at: float | None = None,
) -> None:
    """Record a follow-up attempt: done (no ``retry_at``; ``error`` says why it was given
    up, if it was) or to be tried again at ``retry_at``."""
    with conn.transaction():
        if retry_at is None:
            conn.execute(
                "UPDATE outbox_followups SET done_at = ?, last_error = ?,"
                " attempts = attempts + 1 WHERE outbox_id = ?",
                (time.time(), error, outbox_id),
            )
        else:
            conn.execute(
                "UPDATE outbox_followups SET next_attempt_at = ?, last_error = ?,"
                " attempts = attempts + 1 WHERE outbox_id = ?",
                (retry_at, error, outbox_id),
            )


def waiting_replies(conn: Db, channel: str) -> int:
    """How many replies on ``channel`` wait to be sent (queued or being sent)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM outbox o JOIN channels ch ON ch.id = o.channel_id"
            " WHERE ch.name = ? AND o.state IN ('queued', 'sending')",
            (channel,),
        ).fetchone()[0]
    )


def mark_retry(conn: Db, outbox_id: int, error: str, next_attempt_at: float) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE outbox SET state = 'queued', last_error = ?, next_attempt_at = ? WHERE id = ?",
            (error, next_attempt_at, outbox_id),
        )


def mark_failed(conn: Db, outbox_id: int, error: str) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?", (error, outbox_id)
        )


def requeue(conn: Db, message_id: int, agent: str) -> None:
    """Send a failed reply again (the agent fixed the cause)."""
    with conn.transaction():
        row = conn.execute(
            "SELECT o.id, o.state, m.conversation_id FROM outbox o JOIN messages m"
            " ON m.id = o.message_id WHERE o.message_id = ?",
            (message_id,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"message {message_id} is not a reply in the outbox")
        if row[1] != "failed":
            raise ConflictError(f"reply {message_id} is {row[1]}, not failed")
        conn.execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ? WHERE id = ?",
            (time.time(), row[0]),
        )
        audit(conn, agent, "retry", row[2], {"message": message_id})


def save_view(
    conn: Db,
    name: str,
    query: str,
    order: str,
    shortcut: str | None,
    agent: str,
    replace: bool,
) -> None:
    """Add (or, with ``replace``, change) a shared view, audited. Raises
    :class:`ConflictError` when the name is taken and ``replace`` is off."""
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM saved_views WHERE name = ?", (name,)).fetchone()
        if exists and not replace:
            raise ConflictError(f"a shared view {name!r} exists already (--replace changes it)")
        conn.execute(
            "INSERT INTO saved_views(name, query, sort, shortcut, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET query = excluded.query,"
            " sort = excluded.sort, shortcut = excluded.shortcut",
            (name, query, order, shortcut, agent, time.time()),
        )
        audit(conn, agent, "view.save", None, {"name": name, "query": query, "order": order})


def remove_view(conn: Db, name: str, agent: str) -> None:
    """Remove a shared view, audited. Raises :class:`NotFoundError`."""
    with conn.transaction():
        if not conn.execute("DELETE FROM saved_views WHERE name = ?", (name,)).rowcount:
            raise NotFoundError(f"no shared view {name!r} (`agentconsole views` lists them)")
        audit(conn, agent, "view.remove", None, {"name": name})
