"""Times from outside are bounded on ingest, whatever the channel: a sender cannot pin a
conversation to the top of the queue with a date in year 1 or 9999."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import pytest

from agentconsole.models import View
from agentconsole.plugin import InboundMessage
from agentconsole.store import Store
from tests.conftest import inbound


def dated(body: str, when: datetime) -> InboundMessage:
    return dataclasses.replace(inbound(body), sent_at=when)


@pytest.mark.parametrize(
    "claimed",
    [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC), datetime(1970, 1, 1)],
)
async def test_an_implausible_date_is_shown_at_arrival_with_a_note(
    store: Store, claimed: datetime
) -> None:
    before = time.time()
    await store.ingest("mail", [dated("Pin me to the top", claimed)])
    [conversation_id] = await store.conversation_ids(View("open"))
    conversation = await store.conversation(conversation_id)
    [message] = conversation.messages
    assert before <= message.sent_at <= time.time()
    assert message.parse_note is not None
    assert f"the sender's time {claimed.year:04d}" in message.parse_note
    assert conversation.row.waiting_since is not None
    assert conversation.row.waiting_since >= before


async def test_a_plausible_date_is_kept(store: Store) -> None:
    claimed = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    await store.ingest("mail", [dated("An ordinary mail", claimed)])
    [conversation_id] = await store.conversation_ids(View("open"))
    [message] = (await store.conversation(conversation_id)).messages
    assert message.sent_at == claimed.timestamp() and message.parse_note is None
