"""Writing the demo's support day into a store through the real pipeline: the channels'
messages go through ingest (threading, contacts and their merging, search), and what the team
did goes through the same agent actions the TUI and the CLI use, audit log included.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from ..models import View
from ..store import Store
from .plan import CHANNELS, PlannedConversation, PlannedReply, plan_day

__all__ = ["SeedSummary", "seed_store"]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What the demo store holds after seeding, counted from the store itself."""

    conversations: int
    messages: int
    contacts: int
    multichannel_contacts: int


async def seed_store(store: Store, *, now: float | None = None, seed: int = 1) -> SeedSummary:
    """Fill ``store`` with a realistic multichannel support day ending at ``now``.

    Creates the channels ``demo-email``, ``demo-chat`` and ``demo-forum`` (type ``demo``),
    ingests about 360 conversations over the last day, then triages them as a team would:
    assignees (``store.agent``, maria, kenji, priya), statuses, priorities, tags, notes, and
    replies of which most were delivered, two failed and two wait in the outbox.
    The same ``seed`` and ``now`` give the same day. Meant for a fresh store: on a store
    already seeded, the messages are recognised as duplicates and nothing else is done.
    """
    now = time.time() if now is None else now
    planned = plan_day(now, seed, store.agent)
    by_channel: dict[str, list[PlannedConversation]] = defaultdict(list)
    for conversation in planned:
        by_channel[conversation.channel].append(conversation)
    seeded: list[tuple[int, PlannedConversation]] = []
    for name, kind, _ in CHANNELS:
        await store.ensure_channel(name, "demo", kind)
        conversations = by_channel[name]
        ids = await _ingest(store, name, conversations)
        if ids is not None:
            seeded += zip(ids, conversations, strict=True)
    for conversation_id, conversation in seeded:
        await _triage(store, conversation_id, conversation)
    if seeded:
        await _reply(store, seeded)
    return await summarize(store)


async def _ingest(
    store: Store, channel: str, conversations: list[PlannedConversation]
) -> list[int] | None:
    """Ingest a channel's messages in one batch, oldest first; the conversation ids in the
    order of ``conversations``, or ``None`` when the store already had them."""
    ordered = sorted(
        (message.sent_at, index, position, message)
        for index, conversation in enumerate(conversations)
        for position, message in enumerate(conversation.messages)
    )
    report = await store.ingest(
        channel, [message for *_, message in ordered], cursor=None, update_cursor=False
    )
    if not report.created:
        return None
    # A conversation is created by its first message, so creation follows first-message order.
    by_start = sorted(
        range(len(conversations)), key=lambda i: (conversations[i].messages[0].sent_at, i)
    )
    if len(report.created) != len(conversations):
        raise RuntimeError(
            f"seeding {channel}: {len(conversations)} conversations planned but "
            f"{len(report.created)} created; seed a fresh store"
        )
    ids = [0] * len(conversations)
    for conversation_id, index in zip(report.created, by_start, strict=True):
        ids[index] = conversation_id
    return ids


async def _triage(store: Store, conversation_id: int, planned: PlannedConversation) -> None:
    if planned.assignee is not None:
        await store.assign(conversation_id, planned.assignee)
    if planned.priority != 2:
        await store.set_priority(conversation_id, planned.priority)
    if planned.tags:
        await store.retag(conversation_id, add=planned.tags)
    if planned.note is not None:
        await store.add_note(conversation_id, planned.note)
    if planned.status != "open":
        await store.set_status(conversation_id, planned.status, snooze_until=planned.snooze_until)


async def _reply(store: Store, seeded: list[tuple[int, PlannedConversation]]) -> None:
    """The current agent's recent replies: delivered or failed through the outbox as a
    sender would record them, and a few left queued for the live channel to deliver."""
    outcomes: dict[int, PlannedReply] = {}
    for conversation_id, conversation in seeded:
        reply = conversation.reply
        if reply is not None and reply.outcome != "queued":
            message_id = await store.queue_reply(conversation_id, reply.body, then_status="pending")
            outcomes[message_id] = reply
    for name, _, _ in CHANNELS:
        for item in await store.claim_due_replies(name, limit=len(outcomes) + 1):
            reply = outcomes[item.message_id]
            if reply.outcome == "failed":
                await store.mark_failed(item.id, reply.failure or "failed")
            else:
                await store.mark_sent(item.id, f"demo-out-{item.idempotency_key}")
    for conversation_id, conversation in seeded:
        reply = conversation.reply
        if reply is not None and reply.outcome == "queued":
            await store.queue_reply(conversation_id, reply.body, then_status="pending")


async def summarize(store: Store) -> SeedSummary:
    """Conversations, messages and contacts in ``store``, and how many of those contacts
    have conversations on more than one channel."""
    rows = (await store.conversation_rows(await store.conversation_ids(View("all")))).values()
    channels_of: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        channels_of[row.contact_id].add(row.channel)
    return SeedSummary(
        conversations=len(rows),
        messages=sum(row.message_count for row in rows),
        contacts=len(channels_of),
        multichannel_contacts=sum(1 for channels in channels_of.values() if len(channels) > 1),
    )
