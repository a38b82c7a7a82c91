"""Merge, split and move: what each moves, the reasons messages carry, the redirect, the
counters, exact undo, and later mail threading where the agent put it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from agentconsole import output
from agentconsole.errors import ConflictError, NotFoundError, UsageError
from agentconsole.models import ConversationDetail, DraftMacro, View
from agentconsole.store import Store, connect
from agentconsole_email.parse import parse_message
from tests.conftest import inbound
from tests.unit.test_migrations import write_schema_3_store

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def mail(
    message_id: str,
    body: str,
    *,
    subject: str = "Refund",
    minutes: int = 0,
    references: tuple[str, ...] = (),
    sender: str = "Ada <ada@example.com>",
) -> bytes:
    """A raw customer mail, as a mailbox delivers it."""
    headers = [
        f"From: {sender}",
        "To: support@example.org",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        f"Date: {format_datetime(START + timedelta(minutes=minutes))}",
    ]
    if references:
        headers += [f"In-Reply-To: {references[-1]}", f"References: {' '.join(references)}"]
    return ("\r\n".join([*headers, "", body, ""])).encode()


async def deliver(store: Store, raw: bytes) -> int:
    """Ingest one raw mail through the email parser; the conversation it joined."""
    report = await store.ingest("mail", [parse_message(raw)])
    assert report.stored == 1
    return report.touched[0]


async def thread(store: Store) -> tuple[int, list[int]]:
    """A conversation of four customer mails, each answering the one before."""
    ids = [f"<t{n}@example.com>" for n in range(4)]
    conversation = await deliver(store, mail(ids[0], "My refund is late."))
    for n in range(1, 4):
        joined = await deliver(
            store, mail(ids[n], f"Still waiting ({n}).", minutes=n * 10, references=tuple(ids[:n]))
        )
        assert joined == conversation
    detail = await store.conversation(conversation)
    return conversation, [m.id for m in detail.messages]


def reasons(detail: ConversationDetail) -> list[tuple[str | None, str | None]]:
    return [(m.thread_reason, m.thread_reason_detail) for m in detail.messages]


def shown(detail: ConversationDetail) -> tuple[object, ...]:
    """What an agent sees of a conversation (its row without the update time, messages)."""
    row = detail.row
    return (
        row.subject,
        row.status,
        row.preview,
        row.tags,
        row.message_count,
        row.last_message_at,
        row.waiting_since,
        detail.first_response_at,
        detail.resolved_at,
        tuple((m.id, m.thread_reason, m.thread_reason_detail) for m in detail.messages),
    )


async def test_ingest_records_why_each_message_joined(store: Store) -> None:
    first = await deliver(store, mail("<a@x>", "Hello"))
    await deliver(store, mail("<b@x>", "Again", minutes=1, references=("<a@x>",)))
    # Customer mail naming our [#N] token, without references.
    await deliver(store, mail("<c@x>", "Me again", subject=f"Re: Refund [#{first}]", minutes=2))
    room = await store.ingest("chat", [inbound("hi", thread_key="room-1")])
    await store.ingest("chat", [inbound("there?", thread_key="room-1", minutes=1)])
    await store.add_note(first, "checked the ledger")
    assert reasons(await store.conversation(first)) == [
        ("first", None),
        ("references", "<a@x>"),
        ("token", f"[#{first}]"),
        ("agent", "alice"),
    ]
    assert reasons(await store.conversation(room.created[0])) == [
        ("first", None),
        ("thread_key", "room-1"),
    ]


async def test_merge_moves_messages_tags_notes_and_drafts_and_redirects(store: Store) -> None:
    keep = await deliver(store, mail("<k@x>", "Card declined", subject="Card"))
    other = await deliver(store, mail("<o@x>", "Also my card", subject="Card again", minutes=30))
    await store.retag(keep, add=["billing"])
    await store.retag(other, add=["vip", "billing"])
    note = await store.add_note(other, "called her")
    await store.save_draft(other, "reply", "Dear Ada")
    change = await store.merge_conversations(keep, other)
    assert (change.kind, change.source_id, change.target_id) == ("merge", other, keep)
    detail = await store.conversation(keep)
    assert [m.body.strip() for m in detail.messages] == [
        "Card declined",
        "Also my card",
        "called her",
    ]
    assert detail.messages[2].id == note
    assert detail.messages[1].thread_reason == "merged"
    assert detail.messages[1].thread_reason_detail == f"from #{other} by alice"
    assert detail.row.tags == ("billing", "vip")
    assert detail.row.message_count == 3
    assert detail.row.preview == "Also my card"
    assert await store.draft(keep, "reply") == "Dear Ada"
    # The merged one redirects: opening it shows the kept one, acting on it acts there.
    opened = await store.conversation(other)
    assert (opened.row.id, opened.redirected_from) == (keep, other)
    await store.set_status(other, "pending")
    assert (await store.conversation(keep)).row.status == "pending"
    # It left every view.
    assert other not in await store.conversation_ids(View("all"))
    assert other not in [r.id for r in (await store.conversation(keep)).other_conversations]
    entries = [(e.action, e.conversation_id) for e in await store.audit_log()]
    assert ("merge", keep) in entries and ("merge", other) in entries


async def test_undo_merge_restores_both_exactly(store: Store) -> None:
    keep = await deliver(store, mail("<k@x>", "Card declined", subject="Card"))
    other = await deliver(store, mail("<o@x>", "Also my card", subject="Card again", minutes=30))
    await store.set_status(keep, "closed")
    await store.retag(other, add=["vip"])
    await store.save_draft(keep, "note", "mine")
    await store.save_draft(other, "note", "theirs")
    before = (shown(await store.conversation(keep)), shown(await store.conversation(other)))
    change = await store.merge_conversations(keep, other)
    assert await store.draft(keep, "note") == "mine\n\ntheirs"
    # Her open question in #other still needs an answer: the closed one it joined reopens.
    assert (await store.conversation(keep)).row.status == "open"
    undone = await store.undo_threading(change.id, "merge")
    assert undone.undone
    after = (shown(await store.conversation(keep)), shown(await store.conversation(other)))
    assert after == before
    assert (await store.draft(keep, "note"), await store.draft(other, "note")) == (
        "mine",
        "theirs",
    )
    assert (await store.conversation(other)).redirected_from is None
    assert other in await store.conversation_ids(View("all"))
    with pytest.raises(ConflictError, match="undone already"):
        await store.undo_threading(change.id)


async def test_split_takes_the_message_and_later_ones_and_undo_restores(store: Store) -> None:
    conversation, ids = await thread(store)
    before = shown(await store.conversation(conversation))
    change = await store.split_conversation(ids[2])
    assert change.message_ids == (ids[2], ids[3])
    original, new = (
        await store.conversation(conversation),
        await store.conversation(change.target_id),
    )
    assert [m.id for m in original.messages] == ids[:2]
    assert [m.id for m in new.messages] == ids[2:]
    assert original.row.message_count == 2 and new.row.message_count == 2
    assert original.row.preview == "Still waiting (1)."
    assert new.row.waiting_since == new.messages[0].sent_at
    assert original.row.last_message_at == original.messages[-1].sent_at
    assert new.messages[0].thread_reason == "split"
    assert new.messages[0].thread_reason_detail == f"from #{conversation} by alice"
    assert new.row.status == "open"
    await store.undo_threading(change.id, "split")
    assert shown(await store.conversation(conversation)) == before
    # The split-off conversation now points back.
    assert (await store.conversation(change.target_id)).row.id == conversation


async def test_split_only_takes_one_message(store: Store) -> None:
    conversation, ids = await thread(store)
    change = await store.split_conversation(ids[1], only=True)
    assert [m.id for m in (await store.conversation(conversation)).messages] == [
        ids[0],
        ids[2],
        ids[3],
    ]
    assert [m.id for m in (await store.conversation(change.target_id)).messages] == [ids[1]]


async def test_split_at_the_first_message_is_refused(store: Store) -> None:
    conversation, ids = await thread(store)
    with pytest.raises(UsageError, match="leave it empty"):
        await store.split_conversation(ids[0])
    assert len((await store.conversation(conversation)).messages) == 4


async def test_customer_replying_to_a_split_off_message_lands_in_the_new_conversation(
    store: Store,
) -> None:
    conversation, ids = await thread(store)
    change = await store.split_conversation(ids[2])
    refs = tuple(f"<t{n}@example.com>" for n in range(4))
    # Her mail client quotes the whole chain; the newest reference is a split-off message.
    landed = await deliver(
        store, mail("<t4@example.com>", "Any news?", minutes=50, references=refs)
    )
    assert landed == change.target_id
    new = await store.conversation(change.target_id)
    assert (new.messages[-1].thread_reason, new.messages[-1].thread_reason_detail) == (
        "references",
        "<t3@example.com>",
    )
    # An answer to one of the messages that stayed still goes to the original.
    stayed = await deliver(
        store, mail("<t5@example.com>", "About the first", minutes=60, references=refs[:2])
    )
    assert stayed == conversation


async def test_reply_to_our_answer_from_the_split_off_conversation_follows(store: Store) -> None:
    _, ids = await thread(store)
    change = await store.split_conversation(ids[2])
    reply = await store.queue_reply(change.target_id, "We refunded you.")
    [item] = await store.claim_due_replies("mail")
    assert item.conversation_id == change.target_id
    await store.mark_sent(item.id, "<our-answer@example.org>", None)
    landed = await deliver(
        store,
        mail("<t6@example.com>", "Thanks!", minutes=90, references=("<our-answer@example.org>",)),
    )
    assert landed == change.target_id
    assert reply in [m.id for m in (await store.conversation(landed)).messages]


async def test_undo_split_takes_later_replies_back_too(store: Store) -> None:
    conversation, ids = await thread(store)
    change = await store.split_conversation(ids[2])
    refs = tuple(f"<t{n}@example.com>" for n in range(4))
    await deliver(store, mail("<t4@example.com>", "Any news?", minutes=50, references=refs))
    await store.undo_threading(change.id)
    detail = await store.conversation(conversation)
    assert [m.body.strip() for m in detail.messages][-1] == "Any news?"
    assert detail.messages[-1].thread_reason == "moved"
    assert detail.row.message_count == 5
    assert detail.row.preview == "Any news?"


async def test_move_a_message_and_undo(store: Store) -> None:
    first = await deliver(store, mail("<a@x>", "About order 1", subject="Order 1"))
    await deliver(store, mail("<b@x>", "Order 2 is broken", minutes=5, references=("<a@x>",)))
    second = await deliver(store, mail("<c@x>", "Order 2", subject="Order 2", minutes=10))
    before = (shown(await store.conversation(first)), shown(await store.conversation(second)))
    moved_id = (await store.conversation(first)).messages[1].id
    change = await store.move_message(moved_id, second)
    target = await store.conversation(second)
    assert [m.id for m in target.messages][0] == moved_id
    assert target.messages[0].thread_reason_detail == f"from #{first} by alice"
    assert target.row.message_count == 2
    assert (await store.conversation(first)).row.message_count == 1
    await store.undo_threading(change.id, "move")
    after = (shown(await store.conversation(first)), shown(await store.conversation(second)))
    assert after == before


async def test_move_refuses_what_would_leave_a_conversation_empty(store: Store) -> None:
    first = await deliver(store, mail("<a@x>", "One", subject="One"))
    second = await deliver(store, mail("<b@x>", "Two", subject="Two", minutes=1))
    only = (await store.conversation(first)).messages[0].id
    with pytest.raises(UsageError, match=f"merge {second} {first}"):
        await store.move_message(only, second)
    with pytest.raises(UsageError, match="already"):
        await store.move_message(only, first)


async def test_threading_stays_within_one_channel(store: Store) -> None:
    mail_id = await deliver(store, mail("<a@x>", "Mail"))
    chat = await store.ingest("chat", [inbound("Chat", thread_key="room")])
    with pytest.raises(UsageError, match="different channels"):
        await store.merge_conversations(mail_id, chat.created[0])


async def test_an_undo_waits_for_later_changes_to_be_undone_first(store: Store) -> None:
    keep = await deliver(store, mail("<k@x>", "One", subject="One"))
    other = await deliver(store, mail("<o@x>", "Two", subject="Two", minutes=1))
    merge = await store.merge_conversations(keep, other)
    split = await store.split_conversation((await store.conversation(keep)).messages[1].id)
    with pytest.raises(ConflictError, match=f"split --undo {split.id}"):
        await store.undo_threading(merge.id)
    await store.undo_threading(split.id)
    await store.undo_threading(merge.id)
    assert [m.body.strip() for m in (await store.conversation(other)).messages] == ["Two"]


async def test_undo_names_the_right_command_for_another_kind(store: Store) -> None:
    keep = await deliver(store, mail("<k@x>", "One", subject="One"))
    other = await deliver(store, mail("<o@x>", "Two", subject="Two", minutes=1))
    merge = await store.merge_conversations(keep, other)
    with pytest.raises(UsageError, match=f"merge --undo {merge.id}"):
        await store.undo_threading(merge.id, "split")
    with pytest.raises(NotFoundError):
        await store.undo_threading(merge.id + 100)


async def test_mail_naming_a_merged_conversation_joins_the_kept_one(store: Store) -> None:
    keep = await deliver(store, mail("<k@x>", "One", subject="One"))
    other = await deliver(store, mail("<o@x>", "Two", subject="Two", minutes=1))
    await store.merge_conversations(keep, other)
    landed = await deliver(store, mail("<p@x>", "Hi", subject=f"Re: Two [#{other}]", minutes=5))
    assert landed == keep
    last = (await store.conversation(keep)).messages[-1]
    assert last.thread_reason == "token"
    assert last.thread_reason_detail == f"[#{other}] (#{other} was merged into #{keep})"


async def test_a_chat_split_continues_in_the_new_conversation_and_both_can_answer(
    store: Store,
) -> None:
    room = await store.ingest(
        "chat",
        [
            inbound(f"line {n}", thread_key="room-9", minutes=n, external_id=f"c{n}")
            for n in range(3)
        ],
    )
    conversation = room.created[0]
    split_at = (await store.conversation(conversation)).messages[1].id
    change = await store.split_conversation(split_at)
    later = await store.ingest("chat", [inbound("line 3", thread_key="room-9", minutes=5)])
    assert later.touched == (change.target_id,)
    for target in (conversation, change.target_id):
        await store.queue_reply(target, f"answer in #{target}")
    items = await store.claim_due_replies("chat")
    assert {(i.conversation_id, i.thread_key) for i in items} == {
        (conversation, "room-9"),
        (change.target_id, "room-9"),
    }
    await store.undo_threading(change.id)
    back = await store.ingest("chat", [inbound("line 4", thread_key="room-9", minutes=6)])
    assert back.touched == (conversation,)


async def test_messages_stored_before_reasons_were_kept_say_so(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    write_schema_3_store(path)
    store = await connect(path, agent="alice")
    try:
        messages = (await store.conversation(1)).messages
        assert [output.message_json(m)["thread_reason"] for m in messages] == [
            {"kind": "unknown", "detail": None, "text": "unknown (stored before reasons were kept)"}
        ] * 2
        # Moving one keeps the other's unknown reason, and the undo restores it exactly.
        change = await store.split_conversation(messages[1].id)
        await store.undo_threading(change.id)
        assert [m.thread_reason for m in (await store.conversation(1)).messages] == [None, None]
    finally:
        await store.close()


OUTAGE = DraftMacro("outage", ("+outage",), "pending")
THANKS = DraftMacro("thanks", (), "closed")


async def test_merge_moves_each_drafts_saved_replies_with_its_text_and_undo_puts_them_back(
    store: Store,
) -> None:
    keep = await deliver(store, mail("<k@x>", "Card declined", subject="Card"))
    other = await deliver(store, mail("<o@x>", "Also my card", subject="Card again", minutes=30))
    third = await deliver(store, mail("<t@x>", "And again", subject="Card 3", minutes=40))
    await store.save_draft(keep, "reply", "Thanks Ada", macros=[THANKS])
    await store.save_draft(other, "reply", "We know", macros=[OUTAGE, THANKS])
    await store.save_draft(third, "reply", "On it", macros=[OUTAGE])
    change = await store.merge_conversations(keep, other)
    assert await store.draft(keep, "reply") == "Thanks Ada\n\nWe know"
    # Both drafts' actions apply when the joined draft is sent, each saved reply once.
    assert await store.draft_macros(keep, "reply") == (THANKS, OUTAGE)
    await store.undo_threading(change.id, "merge")
    assert await store.draft_macros(keep, "reply") == (THANKS,)
    assert await store.draft_macros(other, "reply") == (OUTAGE, THANKS)
    # A draft meeting none in the kept conversation moves with its actions as they are.
    await store.merge_conversations(other, third)
    assert await store.draft(other, "reply") == "We know\n\nOn it"
    alone = await store.merge_conversations(keep, other)
    assert await store.draft_macros(keep, "reply") == (THANKS, OUTAGE)
    await store.undo_threading(alone.id, "merge")
    assert await store.draft_macros(other, "reply") == (OUTAGE, THANKS)


async def test_undoing_a_split_brings_a_draft_of_the_new_conversation_back_with_its_actions(
    store: Store,
) -> None:
    conversation, ids = await thread(store)
    change = await store.split_conversation(ids[2])
    await store.save_draft(change.target_id, "reply", "We know", macros=[OUTAGE])
    await store.undo_threading(change.id, "split")
    assert await store.draft(conversation, "reply") == "We know"
    assert await store.draft_macros(conversation, "reply") == (OUTAGE,)
