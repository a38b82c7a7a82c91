"""Spam in the store: marking a conversation spam (it leaves every queue view — the query
compiler hides ``spam = 1`` unless asked — and its sender is blocked on that channel),
"not spam" undoing both, and screening arrivals: a message from a sender blocked on its
channel, blocked by the config, or flagged by a trusted mail server puts its conversation
in Spam, where no rule acts on it and no acknowledgement answers it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .db import Db

if TYPE_CHECKING:
    from ..plugin import InboundMessage
    from ..rules.spam import SpamPolicy

BATCH = 500


def any_spam(conn: Db) -> bool:
    """Whether any conversation is marked spam (else queries need not hide it)."""
    row = conn.execute("SELECT 1 FROM conversations WHERE spam = 1 LIMIT 1").fetchone()
    return row is not None


def channel_blocks(conn: Db, channel_id: int) -> bool:
    """Whether anyone is blocked on the channel (a batch checks its senders only then)."""
    row = conn.execute(
        "SELECT 1 FROM blocked_senders WHERE channel_id = ? LIMIT 1", (channel_id,)
    ).fetchone()
    return row is not None


def screen(
    conn: Db,
    policy: SpamPolicy | None,
    channel_id: int,
    message: InboundMessage,
    senders: Sequence[tuple[str, str]],
    conversation_id: int,
    now: float,
    *,
    blocks_here: bool,
) -> bool:
    """Whether ``message`` (from ``senders``, normalized (namespace, address) pairs) lands
    in Spam; when it does, its conversation is marked so (audited as ``system``). The
    config's allow list wins over everything."""
    # Imported here: the read queries use this module (any_spam) without the mail parser
    # and the write path.
    from ..rules.spam import flagged_by_server
    from .writes import audit

    verdicts = [policy.verdict(address) for _, address in senders] if policy else []
    if False in verdicts:
        return False
    reason = None
    if True in verdicts:
        reason = "sender blocked in the config"
    elif blocks_here and any(_blocked(conn, channel_id, *sender) for sender in senders):
        reason = "sender blocked on this channel"
    elif policy is not None and policy.trust_spam_headers and flagged_by_server(message.raw):
        reason = "flagged as spam by the mail server"
    if reason is None:
        return False
    changed = conn.execute(
        "UPDATE conversations SET spam = 1 WHERE id = ? AND spam = 0", (conversation_id,)
    ).rowcount
    if changed:
        audit(conn, "system", "spam", conversation_id, {"reason": reason}, now)
    return True


def _blocked(conn: Db, channel_id: int, namespace: str, address: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM blocked_senders WHERE channel_id = ? AND namespace = ? AND address = ?",
        (channel_id, namespace, address),
    ).fetchone()
    return row is not None


def mark(conn: Db, conversation_id: int, agent: str, now: float) -> bool:
    """Mark one conversation spam and block its sender on its channel, inside the caller's
    transaction; False when it was spam already (or does not exist)."""
    row = conn.execute(
        "SELECT channel_id FROM conversations WHERE id = ? AND spam = 0", (conversation_id,)
    ).fetchone()
    if row is None:
        return False
    from .writes import audit

    conn.execute(
        "UPDATE conversations SET spam = 1, updated_at = ? WHERE id = ?", (now, conversation_id)
    )
    sender = _sender(conn, conversation_id)
    if sender is not None:
        conn.execute(
            "INSERT INTO blocked_senders(channel_id, namespace, address, agent, created_at,"
            " conversation_id) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel_id, namespace, address) DO NOTHING",
            (row[0], *sender, agent, now, conversation_id),
        )
    blocked = f"{sender[0]}:{sender[1]}" if sender else None
    audit(conn, agent, "spam", conversation_id, {"blocked": blocked}, now)
    return True


def unmark(conn: Db, conversation_id: int, agent: str, now: float) -> bool:
    """ "Not spam": the conversation back in the queue views and its sender unblocked on its
    channel; False when it was not spam."""
    row = conn.execute(
        "SELECT channel_id FROM conversations WHERE id = ? AND spam = 1", (conversation_id,)
    ).fetchone()
    if row is None:
        return False
    from .writes import audit

    conn.execute(
        "UPDATE conversations SET spam = 0, updated_at = ? WHERE id = ?", (now, conversation_id)
    )
    sender = _sender(conn, conversation_id)
    conn.execute("DELETE FROM blocked_senders WHERE conversation_id = ?", (conversation_id,))
    if sender is not None:
        conn.execute(
            "DELETE FROM blocked_senders WHERE channel_id = ? AND namespace = ? AND address = ?",
            (row[0], *sender),
        )
    unblocked = f"{sender[0]}:{sender[1]}" if sender else None
    audit(conn, agent, "unspam", conversation_id, {"unblocked": unblocked}, now)
    return True


def _sender(conn: Db, conversation_id: int) -> tuple[str, str] | None:
    """Who wrote the conversation's latest inbound message (what blocking blocks)."""
    row = conn.execute(
        "SELECT author_namespace, author_address FROM messages WHERE conversation_id = ?"
        " AND direction = 'in' AND author_address IS NOT NULL"
        " ORDER BY sent_at DESC, id DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    return (row[0], row[1]) if row else None


def set_spam(conn: Db, ids: Sequence[int], spam: bool, agent: str) -> list[int]:
    """Mark (``spam``) or unmark each of ``ids``, one transaction per :data:`BATCH`;
    returns the ids that changed (missing ones and ones already so are left out)."""
    changed: list[int] = []
    for start in range(0, len(ids), BATCH):
        now = time.time()
        with conn.transaction():
            for conversation_id in ids[start : start + BATCH]:
                done = (mark if spam else unmark)(conn, conversation_id, agent, now)
                if done:
                    changed.append(conversation_id)
    return changed
