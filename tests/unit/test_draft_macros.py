"""A draft keeps the saved replies inserted into it (their tags and status) in the store:
written with its text, left alone when only the text changes, dropped with the draft when
it is sent or blanked, never seen by another agent."""

from __future__ import annotations

from agentconsole.models import DraftMacro
from agentconsole.store import Store, connect
from tests.conftest import inbound

OUTAGE = DraftMacro("outage", ("+outage", "-billing"), "pending")
THANKS = DraftMacro("thanks", (), "closed")


async def test_macros_are_kept_with_the_draft_and_survive_reopening_the_store(
    store: Store, store_location
) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.save_draft(conversation, "reply", "Hi Ada,", macros=[OUTAGE, THANKS])
    await store.save_draft(conversation, "reply", "Hi Ada, more")  # text only: kept
    again = await connect(store_location, agent="alice")
    try:
        assert await again.draft(conversation, "reply") == "Hi Ada, more"
        assert await again.draft_macros(conversation, "reply") == (OUTAGE, THANKS)
        assert OUTAGE.tag_changes == (["outage"], ["billing"])
        bob = await connect(store_location, agent="bob")
        try:
            assert await bob.draft_macros(conversation, "reply") == ()
        finally:
            await bob.close()
    finally:
        await again.close()
    await store.save_draft(conversation, "reply", "Hi Ada, more", macros=[])
    assert await store.draft_macros(conversation, "reply") == ()


async def test_sending_or_blanking_the_draft_drops_its_macros(store: Store) -> None:
    first, second = (
        await store.ingest("mail", [inbound(), inbound(name="Bo", email="bo@example.com")])
    ).created
    for conversation in (first, second):
        await store.save_draft(conversation, "reply", "Hi", macros=[OUTAGE])
    await store.queue_reply(first, "Hi")
    await store.save_draft(second, "reply", "  ")
    for conversation in (first, second):
        assert await store.draft_macros(conversation, "reply") == ()
        await store.save_draft(conversation, "reply", "A new draft")
        assert await store.draft_macros(conversation, "reply") == ()
