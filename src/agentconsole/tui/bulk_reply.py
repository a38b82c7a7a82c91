"""A saved reply sent to every marked conversation, one filled in for each.

The agent marks the conversations, presses the reply key, picks a saved reply (its preview
filled in for the first of them) and says what follows: send, close, or set pending. Every
conversation is checked first (offered on its channel, every placeholder filled); when one
cannot be, nothing is queued for any, as ``reply --template`` does on the command line.
Each reply then goes through the outbox with its undo window, assigned to the agent where
nobody holds the conversation, and the saved reply's tags are applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import AgentConsoleError, UsageError
from ..models import Change, ConversationDetail
from ..replies import Agent, SavedReply, fill
from .services import Services

#: What follows sending, as the agent picks it (first letters are the shortcuts).
AFTER = {"send": None, "close after sending": "closed", "pending after sending": "pending"}


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """Which replies were queued (conversation id → message id) and, when nothing could be
    sent, why (one line per conversation that refused)."""

    queued: dict[int, int]
    refused: tuple[str, ...]
    failed: tuple[str, ...] = ()


async def send_to_each(
    services: Services, ids: Sequence[int], reply: SavedReply, then: str | None
) -> BulkOutcome:
    """Fill ``reply`` for each of ``ids`` and queue it (see the module docstring)."""
    config, store = services.config, services.store
    agent = Agent(config.agent, config.display_name)
    filled: list[tuple[ConversationDetail, str]] = []
    refused: list[str] = []
    for conversation_id in ids:
        try:
            detail = await store.conversation(conversation_id)
            if not services.channels.can_reply(detail.row.channel):
                raise UsageError(f"{detail.row.channel} is read-only")
            filled.append((detail, fill(reply, detail, agent)))
        except AgentConsoleError as error:
            refused.append(f"#{conversation_id}: {error}")
    if refused:
        return BulkOutcome({}, tuple(refused))
    add, remove = reply.tag_changes
    status = then or reply.status
    queued: dict[int, int] = {}
    failed: list[str] = []
    for detail, text in filled:
        conversation_id = detail.row.id
        try:
            queued[conversation_id] = await store.queue_undoable_reply(
                conversation_id,
                text,
                undo_seconds=config.undo_seconds,
                then_status=status,
                seen_up_to=max((m.id for m in detail.messages), default=0),
                assign_if_unassigned=config.assign_on_reply,
            )
            if add or remove:
                await store.apply(
                    [conversation_id], Change("tags", add=tuple(add), remove=tuple(remove))
                )
        except AgentConsoleError as error:
            failed.append(f"#{conversation_id}: {error}")
    return BulkOutcome(queued, (), tuple(failed))
