"""A saved reply made ready for one conversation: offered on its channel, its placeholders
filled from the conversation, the contact and the agent — the one place the CLI and the
composer's picker both ask."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..models import ConversationDetail
from ..sanitize import one_line
from .library import SavedReply
from .template import ReplyContext


@dataclass(frozen=True, slots=True)
class Agent:
    """Who sends the reply: the account name and the name customers see."""

    name: str
    display_name: str


def context_for(detail: ConversationDetail, agent: Agent) -> ReplyContext:
    """What the placeholders of a reply on ``detail`` are filled from. Outside text (the
    customer's name and address, the subject) is folded to one clean line: a placeholder
    never carries a control character or a line break into the reply."""
    email = next(
        (i.address for i in detail.contact.identities if i.namespace == "email" and i.address),
        None,
    )
    name = detail.contact.name or detail.row.contact_name
    return ReplyContext(
        agent_name=agent.name,
        agent_display_name=agent.display_name,
        conversation_id=detail.row.id,
        conversation_subject=one_line(detail.row.subject),
        conversation_channel=detail.row.channel,
        conversation_created_at=detail.row.created_at,
        customer_name=one_line(name) or None,
        customer_email=one_line(email) if email else None,
    )


def refusal(reply: SavedReply, detail: ConversationDetail) -> str | None:
    """Why ``reply`` may not be used on ``detail``'s channel, or None when it may."""
    row = detail.row
    if reply.offered_on(row.channel, row.channel_kind):
        return None
    return (
        f"saved reply {reply.name!r} is offered on {', '.join(reply.channels)} only; "
        f"conversation #{row.id} is on {row.channel} ({row.channel_kind})"
    )


def fill(reply: SavedReply, detail: ConversationDetail, agent: Agent) -> str:
    """The text of ``reply`` as it is sent on ``detail``: the channel's form (no signature
    block on chat) with every placeholder filled in.

    Raises :class:`UsageError` when the reply is not offered on the channel and
    :class:`~agentconsole.replies.PlaceholderError` (a ``UsageError``) when a placeholder is
    unknown or has no value for this conversation.
    """
    refused = refusal(reply, detail)
    if refused is not None:
        raise UsageError(refused)
    return reply.template_for(detail.row.channel_kind).render(context_for(detail, agent))
