"""Writing the demo's support day into a store through the real pipeline: the channels'
messages go through ingest (threading, contacts and their merging, search), and what the team
did goes through the same agent actions the TUI and the CLI use, audit log included.

The day itself is the demo plugin's :meth:`~agentconsole.plugin.ChannelPlugin.seed_plan`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from ..errors import PluginLoadError
from ..models import View
from ..plugin import ChannelPlugin, SeedConversation, SeedReply
from ..store import Store
from .provider import demo_plugin

__all__ = ["SeedSummary", "other_channels", "seed_store"]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What the demo store holds after seeding, counted from the store itself."""

    conversations: int
    messages: int
    contacts: int
    multichannel_contacts: int


async def other_channels(store: Store, plugin: type[ChannelPlugin] | None = None) -> list[str]:
    """The names of the channels in ``store`` that are not of the demo ``plugin``'s type
    (default: the installed demo plugin): empty for a new or demo-only store. Anything else
    is real data the demo must not be mixed into unasked."""
    type_name = (plugin or demo_plugin()).type_name
    return [
        channel.name
        for channel in await store.channels(with_counts=False)
        if channel.type != type_name
    ]


async def seed_store(
    store: Store,
    plugin: type[ChannelPlugin] | None = None,
    *,
    now: float | None = None,
    seed: int = 1,
) -> SeedSummary:
    """Fill ``store`` with the demo ``plugin``'s support day (default: the installed demo
    plugin's) ending at ``now``.

    Creates the plugin's ``demo_channels``, ingests its planned conversations (about 360
    over the last day for the bundled demo), then triages them as a team would: assignees
    (``store.agent`` and teammates), statuses, priorities, tags, notes, and replies of which
    most were delivered, some failed and some wait in the outbox. The same ``seed`` and
    ``now`` give the same day. Meant for a fresh store: on a store already seeded, the
    messages are recognised as duplicates and nothing else is done. Raises
    :class:`PluginLoadError` when the plan names a channel the plugin does not run.
    """
    plugin = plugin or demo_plugin()
    now = time.time() if now is None else now
    setups = plugin.demo_channels
    by_channel: dict[str, list[SeedConversation]] = {setup.name: [] for setup in setups}
    for conversation in plugin.seed_plan(now, seed, store.agent):
        if conversation.channel not in by_channel:
            raise PluginLoadError(
                f"channel plugin {plugin.type_name!r} planned a demo conversation on "
                f"{conversation.channel!r}, which is not one of its demo_channels"
            )
        by_channel[conversation.channel].append(conversation)
    seeded: list[tuple[int, SeedConversation]] = []
    for setup in setups:
        await store.ensure_channel(setup.name, plugin.type_name, setup.kind)
        conversations = by_channel[setup.name]
        ids = await _ingest(store, setup.name, conversations) if conversations else None
        if ids is not None:
            seeded += zip(ids, conversations, strict=True)
    for conversation_id, conversation in seeded:
        await _triage(store, conversation_id, conversation)
    if seeded:
        await _reply(store, seeded, [setup.name for setup in setups])
    return await summarize(store)


async def _ingest(
    store: Store, channel: str, conversations: list[SeedConversation]
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


async def _triage(store: Store, conversation_id: int, planned: SeedConversation) -> None:
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


async def _reply(
    store: Store, seeded: list[tuple[int, SeedConversation]], channels: list[str]
) -> None:
    """The current agent's recent replies: delivered or failed through the outbox as a
    sender would record them, and a few left queued for the live channel to deliver."""
    outcomes: dict[int, SeedReply] = {}
    for conversation_id, conversation in seeded:
        reply = conversation.reply
        if reply is not None and reply.outcome != "queued":
            message_id = await store.queue_reply(conversation_id, reply.body, then_status="pending")
            outcomes[message_id] = reply
    for name in channels:
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
