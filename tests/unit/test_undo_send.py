"""Undo send in the store: a reply waits out its undo window before any sender may take
it; unsend takes it back into a draft (nothing goes out, the conversation is as before); a
crash during the wait loses nothing; the window never delays it beyond its end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentconsole.errors import ConflictError, NotFoundError
from agentconsole.models import Change, DraftMacro
from agentconsole.store import Store, connect
from tests.conftest import inbound


async def _due_now(store: Store) -> None:
    """The undo window of every queued reply is over (as if its seconds had passed)."""
    await store.run_sync(
        lambda conn: conn.execute("UPDATE outbox SET next_attempt_at = ?", (time.time() - 1,))
    )


async def test_a_held_reply_is_not_handed_out_until_its_window_ends(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    message_id = await store.queue_undoable_reply(conversation, "On it.", undo_seconds=30)
    assert await store.claim_due_replies("mail") == []
    await _due_now(store)
    [item] = await store.claim_due_replies("mail")
    assert item.message_id == message_id and item.body == "On it."


async def test_unsend_takes_the_reply_back_into_a_draft_and_restores_the_conversation(
    store: Store,
) -> None:
    conversation = (await store.ingest("mail", [inbound("Where is my refund?")])).created[0]
    before = (await store.conversation(conversation)).row
    await store.save_draft(conversation, "reply", "")
    message_id = await store.queue_undoable_reply(
        conversation,
        "Refunded today.",
        undo_seconds=30,
        then_status="closed",
        assign_if_unassigned=True,
    )
    sent = (await store.conversation(conversation)).row
    assert (sent.status, sent.assignee, sent.waiting_since) == ("closed", "alice", None)
    unsent = await store.unsend(message_id)
    assert unsent.conversation_id == conversation and unsent.body == "Refunded today."
    after = await store.conversation(conversation)
    assert [m.direction for m in after.messages] == ["in"]
    assert after.row.status == before.status == "open"
    assert after.row.assignee is None
    assert after.row.waiting_since == before.waiting_since
    assert after.row.preview == before.preview
    assert after.row.message_count == before.message_count
    assert await store.draft(conversation, "reply") == "Refunded today."
    await _due_now(store)
    assert await store.claim_due_replies("mail") == []  # nothing goes out
    assert [e.action for e in await store.audit_log(conversation)][0] == "unsend"
    assert await store.search("Refunded") == []  # gone from the index too


async def test_unsend_keeps_a_draft_begun_meanwhile(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    message_id = await store.queue_undoable_reply(conversation, "First try.", undo_seconds=30)
    await store.save_draft(conversation, "reply", "Second thoughts")
    await store.unsend(message_id)
    assert await store.draft(conversation, "reply") == "First try.\n\nSecond thoughts"


async def test_unsend_takes_back_the_tags_its_saved_replies_set(store: Store) -> None:
    outage = DraftMacro("outage", ("+outage", "-billing"), None)
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.retag(conversation, add=["billing", "vip"])
    message_id = await store.queue_undoable_reply(
        conversation, "We know.", undo_seconds=30, macros=[outage]
    )
    # The console sets the saved replies' tags right after queueing the reply.
    await store.apply([conversation], Change("tags", add=("outage",), remove=("billing",)))
    assert (await store.conversation(conversation)).row.tags == ("outage", "vip")
    await store.unsend(message_id)
    assert (await store.conversation(conversation)).row.tags == ("billing", "vip")
    tagged = [e for e in await store.audit_log(conversation) if e.action == "tag"]
    assert "reply taken back" in tagged[0].detail  # the take-back, audited


async def test_unsend_leaves_tags_another_agent_changed_since(
    store: Store, store_location: str | Path
) -> None:
    outage = DraftMacro("outage", ("+outage",), None)
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    message_id = await store.queue_undoable_reply(
        conversation, "We know.", undo_seconds=30, macros=[outage]
    )
    await store.apply([conversation], Change("tags", add=("outage",)))
    bob = await connect(store_location, agent="bob")
    try:
        await bob.retag(conversation, add=["urgent"])
    finally:
        await bob.close()
    await store.unsend(message_id)
    assert (await store.conversation(conversation)).row.tags == ("outage", "urgent")


async def test_unsend_brings_the_saved_replies_actions_back_with_the_text(store: Store) -> None:
    outage, thanks = DraftMacro("outage", ("+outage",), "pending"), DraftMacro("thanks", (), None)
    first, second = (
        await store.ingest("mail", [inbound(), inbound(name="Bo", email="bo@example.com")])
    ).created
    held = [
        await store.queue_undoable_reply(c, "We know.", undo_seconds=30, macros=[outage])
        for c in (first, second)
    ]
    assert await store.draft_macros(first, "reply") == ()  # sent: they went with the draft
    await store.save_draft(second, "reply", "Also", macros=[thanks])  # begun meanwhile
    for message_id in held:
        await store.unsend(message_id)
    assert await store.draft_macros(first, "reply") == (outage,)
    assert await store.draft(second, "reply") == "We know.\n\nAlso"
    assert await store.draft_macros(second, "reply") == (outage, thanks)


async def test_after_the_window_or_once_claimed_unsend_is_refused(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    message_id = await store.queue_undoable_reply(conversation, "Hello", undo_seconds=30)
    await _due_now(store)
    with pytest.raises(ConflictError, match="undo window is over"):
        await store.unsend(message_id)
    [item] = await store.claim_due_replies("mail")
    with pytest.raises(ConflictError, match="handed to the channel"):
        await store.unsend(message_id)
    await store.mark_sent(item.id, "<sent@x>")
    with pytest.raises(ConflictError, match="sent"):
        await store.unsend(message_id)
    with pytest.raises(NotFoundError):
        await store.unsend(999_999)


async def test_only_the_author_takes_a_reply_back(store: Store, store_location: str | Path) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    message_id = await store.queue_undoable_reply(conversation, "Mine", undo_seconds=30)
    bob = await connect(store_location, agent="bob")
    try:
        with pytest.raises(ConflictError, match="written by alice"):
            await bob.unsend(message_id)
    finally:
        await bob.close()


async def test_a_crash_during_the_window_loses_nothing(store_path: Path) -> None:
    store = await connect(store_path, agent="alice")
    await store.ensure_channel("mail", "email", "email")
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    message_id = await store.queue_undoable_reply(conversation, "Kept", undo_seconds=30)
    await store.close()  # the console stops (or dies) during the wait
    store = await connect(store_path, agent="alice")
    try:
        await _due_now(store)
        [item] = await store.claim_due_replies("mail")
        assert (item.message_id, item.body) == (message_id, "Kept")
    finally:
        await store.close()


async def test_no_window_sends_at_once_and_an_assigned_conversation_keeps_its_agent(
    store: Store,
) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.apply([conversation], Change("assign", assignee="bob", force=True))
    await store.queue_undoable_reply(conversation, "Now", undo_seconds=0, assign_if_unassigned=True)
    assert len(await store.claim_due_replies("mail")) == 1
    assert (await store.conversation(conversation)).row.assignee == "bob"


async def test_known_agents_are_assignees_authors_and_the_audit_logs(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.apply([conversation], Change("assign", assignee="carol"))
    await store.add_note(conversation, "hi")
    assert await store.known_agents() == ["alice", "carol"]


async def test_cli_unsend_takes_a_held_reply_back_and_exits_4_once_too_late(
    store: Store, store_location: str | Path
) -> None:
    from tests.unit.test_cli import run

    conversation = (await store.ingest("mail", [inbound()])).created[0]
    message_id = await store.queue_undoable_reply(conversation, "Oops", undo_seconds=60)
    result = run(store_location, "unsend", str(message_id))
    assert result.returncode == 0, result.stderr
    assert "nothing was sent" in result.stdout
    assert await store.draft(conversation, "reply") == "Oops"
    late = await store.queue_undoable_reply(conversation, "Late", undo_seconds=60)
    await _due_now(store)
    refused = run(store_location, "unsend", str(late))
    assert refused.returncode == 4 and "undo window is over" in refused.stderr


async def test_unsend_each_takes_back_every_reply_still_held_and_names_those_that_left(
    store: Store,
) -> None:
    first, second, third = (
        await store.ingest(
            "mail",
            [inbound(name=n, email=f"{n.lower()}@example.com") for n in ("Ada", "Bo", "Cy")],
        )
    ).created
    ids = [
        await store.queue_undoable_reply(c, "We are on it.", undo_seconds=60)
        for c in (first, second, third)
    ]
    await store.run_sync(  # the first one's window is over: a sender may have it
        lambda conn: conn.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE message_id = ?", (time.time() - 1, ids[0])
        )
    )
    report = await store.unsend_each([*ids, ids[1], 999_999])
    assert [u.conversation_id for u in report.taken] == [second, third]
    assert [(r.message_id, r.left, r.exit_code) for r in report.refused] == [
        (ids[0], True, 4),
        (999_999, False, 3),
    ]
    for conversation in (second, third):
        assert await store.draft(conversation, "reply") == "We are on it."
    [item] = await store.claim_due_replies("mail")  # only the one that left goes out
    assert item.message_id == ids[0]


async def test_cli_unsend_takes_several_back_and_exits_4_when_one_had_left(
    store: Store, store_location: str | Path
) -> None:
    from tests.unit.test_cli import run

    first, second = (
        await store.ingest("mail", [inbound(), inbound(name="Bo", email="bo@example.com")])
    ).created
    held = await store.queue_undoable_reply(first, "On it", undo_seconds=60)
    late = await store.queue_undoable_reply(second, "On it", undo_seconds=60)
    await store.run_sync(
        lambda conn: conn.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE message_id = ?", (time.time() - 1, late)
        )
    )
    result = run(store_location, "unsend", str(held), str(late))
    assert result.returncode == 4
    assert f"reply {held} taken back" in result.stdout
    assert f"reply {late} can no longer be taken back" in result.stderr
    assert await store.draft(first, "reply") == "On it"
    assert await store.draft(second, "reply") is None
