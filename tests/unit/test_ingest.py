"""The ingest pipeline: dedupe, threading, contacts, reopen, cursors."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pytest

from agentconsole.models import View
from agentconsole.plugin import Identity, InboundMessage
from agentconsole.store import Store
from agentconsole.store.ingest_sql import PREVIEW_CHARS, PREVIEW_SCAN, preview_of
from tests.conftest import inbound


async def test_same_message_delivered_twice_is_stored_once(store: Store) -> None:
    message = inbound(external_id="<dup@x>")
    first = await store.ingest("mail", [message, message], "c1")
    second = await store.ingest("mail", [message], "c2")
    assert (first.stored, first.duplicates) == (1, 1)
    assert (second.stored, second.duplicates) == (0, 1)
    detail = await store.conversation(first.created[0])
    assert len(detail.messages) == 1


async def test_same_external_id_on_another_channel_is_another_message(store: Store) -> None:
    await store.ingest("mail", [inbound(external_id="42")])
    report = await store.ingest("chat", [inbound(external_id="42", thread_key="room")])
    assert report.stored == 1


async def test_reply_threads_by_references_and_thread_key(store: Store) -> None:
    root = await store.ingest("mail", [inbound(external_id="<root@x>", subject="Refund")])
    reply = await store.ingest(
        "mail", [inbound("more info", external_id="<r2@x>", references=("<root@x>",), minutes=5)]
    )
    assert reply.created == () and reply.touched == root.created
    room = await store.ingest("chat", [inbound("hi", thread_key="room-1", minutes=1)])
    again = await store.ingest("chat", [inbound("still there?", thread_key="room-1", minutes=2)])
    assert again.touched == room.created
    other = await store.ingest("chat", [inbound("hi", thread_key="room-2", minutes=3)])
    assert other.created and other.created != room.created


async def test_siblings_answering_an_unseen_parent_share_a_thread(store: Store) -> None:
    first = await store.ingest("mail", [inbound(references=("<never-seen@x>",))])
    second = await store.ingest("mail", [inbound(references=("<never-seen@x>",), minutes=1)])
    assert second.touched == first.created


async def test_same_email_on_two_channels_is_one_contact(store: Store) -> None:
    mail = await store.ingest("mail", [inbound(email="Grace@Example.com", name="Grace")])
    chat = await store.ingest(
        "chat",
        [
            inbound(
                identities=(
                    Identity("demo-chat", "grace_h"),
                    Identity("email", "grace@example.com"),
                ),
                name="grace_h",
                thread_key="r",
            )
        ],
    )
    mail_detail = await store.conversation(mail.created[0])
    chat_detail = await store.conversation(chat.created[0])
    assert mail_detail.contact.id == chat_detail.contact.id
    assert {i.namespace for i in chat_detail.contact.identities} == {"email", "demo-chat"}
    assert [c.id for c in chat_detail.other_conversations] == [mail.created[0]]


async def test_an_identity_linking_two_known_contacts_merges_them_and_can_be_undone(
    store: Store,
) -> None:
    a = await store.ingest("mail", [inbound(email="a@x.org", name="A")])
    b = await store.ingest(
        "chat", [inbound(identities=(Identity("demo-chat", "bee"),), thread_key="t")]
    )
    contact_a = (await store.conversation(a.created[0])).contact.id
    contact_b = (await store.conversation(b.created[0])).contact.id
    assert contact_a != contact_b
    await store.ingest(
        "chat",
        [
            inbound(
                identities=(Identity("demo-chat", "bee"), Identity("email", "a@x.org")),
                thread_key="t",
                minutes=1,
            )
        ],
    )
    assert (await store.conversation(b.created[0])).contact.id == contact_a
    await store.unlink_contact(contact_b)
    assert (await store.conversation(b.created[0])).contact.id == contact_b
    assert (await store.conversation(a.created[0])).contact.id == contact_a


@pytest.mark.parametrize("status", ["closed", "snoozed", "pending"])
async def test_customer_writing_again_reopens(store: Store, status: str) -> None:
    report = await store.ingest("mail", [inbound(external_id="<a@x>")])
    conversation = report.created[0]
    await store.queue_reply(conversation, "Fixed!")
    await store.set_status(conversation, status, snooze_until=4e9 if status == "snoozed" else None)
    later = await store.ingest(
        "mail", [inbound("It broke again", references=("<a@x>",), minutes=60 * 24 * 30)]
    )
    assert later.reopened == (conversation,)
    row = (await store.conversation_rows([conversation]))[conversation]
    assert row.status == "open" and row.waiting_since is not None
    assert conversation in await store.conversation_ids(View("open"))


async def test_auto_reply_does_not_reopen_or_start_the_waiting_clock(store: Store) -> None:
    report = await store.ingest("mail", [inbound(external_id="<a@x>")])
    conversation = report.created[0]
    await store.queue_reply(conversation, "Done", then_status="closed")
    auto = inbound("I am out of office", references=("<a@x>",), automated=True, minutes=99999)
    result = await store.ingest("mail", [auto])
    assert result.reopened == ()
    row = (await store.conversation_rows([conversation]))[conversation]
    assert row.status == "closed" and row.waiting_since is None


async def test_agent_message_seen_on_the_channel_answers_the_customer(store: Store) -> None:
    report = await store.ingest("mail", [inbound(external_id="<q@x>")])
    conversation = report.created[0]
    ours = inbound(
        "Answered from webmail",
        references=("<q@x>",),
        from_agent=True,
        minutes=3,
        name="Support",
        email="support@acme.example",
    )
    await store.ingest("mail", [ours])
    detail = await store.conversation(conversation)
    assert [m.direction for m in detail.messages] == ["in", "out"]
    assert detail.row.waiting_since is None and detail.first_response_at is not None
    assert detail.contact.name == "Ada Lovelace"


async def test_cursor_advances_only_with_a_committed_batch(store: Store) -> None:
    await store.ingest("mail", [inbound()], "cursor-1")
    bad = inbound(external_id="<bad@x>")
    # A body that SQLite cannot bind fails the batch half-way through.
    broken = inbound(external_id="<broken@x>", body=object())  # type: ignore[arg-type]
    with pytest.raises((sqlite3.Error, TypeError, AttributeError)):
        await store.ingest("mail", [bad, broken], "cursor-2")
    assert await store.channel_cursor("mail") == "cursor-1"
    assert (await store.ingest("mail", [bad], "cursor-2")).stored == 1


async def test_attachments_are_stored_once_by_content(store: Store) -> None:
    from agentconsole.plugin import Attachment

    data = b"%PDF-1.4 invoice"
    messages = [
        inbound(attachments=(Attachment("../../etc/passwd", "application/pdf", data),)),
        inbound(attachments=(Attachment("invoice.pdf", "application/pdf", data),), minutes=1),
    ]
    report = await store.ingest("mail", messages)
    detail = await store.conversation(report.created[0])
    attachment = detail.messages[0].attachments[0]
    assert attachment.filename == "../../etc/passwd"  # kept as data; never used as a path
    blobs = await store.run_sync(lambda c: c.execute("SELECT count(*) FROM blobs").fetchone()[0])
    assert blobs == 1
    assert (await store.attachment(attachment.id))[1] == data


async def test_raw_bytes_and_parse_note_are_kept(store: Store) -> None:
    raw = b"From: ?\r\n\r\n\xff\xfe garbage"
    report = await store.ingest(
        "mail", [inbound("(unreadable)", raw=raw, parse_note="bad charset")]
    )
    detail = await store.conversation(report.created[0])
    assert detail.messages[0].parse_note == "bad charset"
    assert await store.raw_message(detail.messages[0].id) == raw


async def test_a_message_without_identities_still_gets_a_contact(store: Store) -> None:
    report = await store.ingest("mail", [inbound(email=None, name="")])
    assert (await store.conversation(report.created[0])).contact.name == "(unknown)"


async def test_author_name_changes_do_not_split_a_contact(store: Store) -> None:
    await store.ingest("mail", [inbound(name="Ada")])
    report = await store.ingest("mail", [inbound(name="Ada L.", minutes=10)])
    assert (await store.conversation(report.created[0])).contact.name == "Ada"


async def test_a_conversation_token_threads_only_for_the_same_customer(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound(email="ada@example.com")])).created[0]
    token = str(conversation)
    same = await store.ingest(
        "mail", [inbound("answer", email="ADA@example.com", conversation_token=token, minutes=9)]
    )
    assert same.touched == (conversation,) and same.created == ()
    stranger = await store.ingest(
        "mail", [inbound("hijack", email="eve@example.com", conversation_token=token, minutes=10)]
    )
    assert stranger.created and stranger.created != (conversation,)


async def test_participants_are_copied_on_the_reply(store: Store) -> None:
    from agentconsole.plugin import Identity

    conversation = (
        await store.ingest(
            "mail",
            [
                inbound(
                    external_id="<cc@x>",
                    participants=(
                        Identity("email", "bob@example.com"),
                        Identity("email", "ada@example.com"),
                    ),
                )
            ],
        )
    ).created[0]
    await store.queue_reply(conversation, "Answering you both")
    [item] = await store.claim_due_replies("mail")
    assert item.recipients[0].address == "ada@example.com"
    assert [c.address for c in item.cc] == ["bob@example.com"]


async def test_a_conversation_we_started_belongs_to_whom_we_wrote(store: Store) -> None:
    from agentconsole.plugin import Identity

    ours = inbound(
        "Your order shipped",
        name="Acme Support",
        email="support@acme.example",
        from_agent=True,
        participants=(Identity("email", "dan@example.com"),),
    )
    conversation = (await store.ingest("mail", [ours])).created[0]
    detail = await store.conversation(conversation)
    assert [i.address for i in detail.contact.identities] == ["dan@example.com"]
    answer = inbound("Thanks!", email="dan@example.com", references=(ours.external_id,), minutes=5)
    assert (await store.ingest("mail", [answer])).touched == (conversation,)


async def test_a_parent_arriving_after_its_reply_joins_the_same_conversation(store: Store) -> None:
    child = await store.ingest(
        "mail", [inbound("re: it", external_id="<child@x>", references=("<parent@x>",), minutes=5)]
    )
    parent = await store.ingest("mail", [inbound("it", external_id="<parent@x>")])
    assert parent.created == () and parent.touched == child.created


async def test_late_mail_dated_before_the_close_still_reopens(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound(external_id="<a@x>", minutes=0)])).created[
        0
    ]
    await store.set_status(conversation, "closed")
    # Sent (by its Date) long before the agent closed it, delivered only now.
    late = await store.ingest(
        "mail", [inbound("did you get this?", references=("<a@x>",), minutes=1)]
    )
    assert late.reopened == (conversation,)


# -- identity: (channel, external id, content digest) -----------------------------------


async def test_same_id_with_other_content_is_kept_beside_the_first_with_a_note(
    store: Store,
) -> None:
    first = await store.ingest("mail", [inbound("Version one.", external_id="<rev@x>")])
    revised = await store.ingest(
        "mail", [inbound("Version two, corrected.", external_id="<rev@x>", minutes=3)]
    )
    again = await store.ingest("mail", [inbound("Version two, corrected.", external_id="<rev@x>")])
    assert (revised.stored, revised.duplicates, revised.created) == (1, 0, ())
    assert revised.touched == first.created
    assert (again.stored, again.duplicates) == (0, 1)
    messages = (await store.conversation(first.created[0])).messages
    assert [m.body for m in messages] == ["Version one.", "Version two, corrected."]
    assert messages[0].parse_note is None
    assert messages[1].parse_note == (
        f"same Message-ID as message {messages[0].id}, different content"
    )


async def test_same_id_with_other_content_within_one_batch_is_kept_too(store: Store) -> None:
    report = await store.ingest(
        "chat",
        [
            inbound("first text", external_id="7", thread_key="room"),
            inbound("other text", external_id="7", thread_key="room"),
            inbound("first text", external_id="7", thread_key="room"),
        ],
    )
    assert (report.stored, report.duplicates) == (2, 1)
    messages = (await store.conversation(report.created[0])).messages
    assert messages[1].parse_note == f"same id as message {messages[0].id}, different content"


async def test_a_plugin_digest_decides_and_the_note_keeps_the_plugins_own_note(
    store: Store,
) -> None:
    """Same parsed text but different digests (e.g. a header differs) are two messages;
    the same digest with other parsed text is one."""
    one = inbound("text", external_id="<d@x>", content_digest="test-1:aa")
    await store.ingest("mail", [one])
    redelivered = inbound(
        "text, parsed differently", external_id="<d@x>", content_digest="test-1:aa"
    )
    other = inbound(
        "text", external_id="<d@x>", content_digest="test-1:bb", parse_note="bad charset"
    )
    report = await store.ingest("mail", [redelivered, other])
    assert (report.stored, report.duplicates) == (1, 1)
    messages = (await store.conversation(report.touched[0])).messages
    assert messages[1].parse_note == (
        f"same Message-ID as message {messages[0].id}, different content; bad charset"
    )


async def test_the_core_digest_ignores_sent_at_so_a_retried_delivery_is_one_message(
    store: Store,
) -> None:
    report = await store.ingest(
        "chat",
        [
            inbound("hello", external_id="r1", thread_key="t", minutes=0),
            inbound("hello", external_id="r1", thread_key="t", minutes=9),
        ],
    )
    assert (report.stored, report.duplicates) == (1, 1)


async def test_rows_without_a_comparable_digest_dedupe_on_their_id_alone(store: Store) -> None:
    """Messages stored before digests existed (NULL) or under another digest scheme match
    any content: an upgrade never stores a redelivered message twice."""
    legacy = await store.ingest("mail", [inbound("old", external_id="<old@x>")])
    await store.run_sync(lambda c: c.execute("UPDATE messages SET content_digest = NULL"))
    assert (await store.ingest("mail", [inbound("changed", external_id="<old@x>")])).stored == 0
    await store.ingest("mail", [inbound("core", external_id="<scheme@x>")])
    plugin_digest = inbound("core", external_id="<scheme@x>", content_digest="rfc822-1:ff")
    assert (await store.ingest("mail", [plugin_digest])).duplicates == 1
    assert len((await store.conversation(legacy.created[0])).messages) == 1


async def test_an_echo_of_a_sent_reply_is_not_stored_twice(store: Store) -> None:
    """A reply's row has no digest: its echo (a Sent folder) matches it by id alone."""
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.queue_reply(conversation, "We fixed it.")
    (item,) = await store.claim_due_replies("mail")
    await store.mark_sent(item.id, "<reply-1@acme.example>")
    echo = inbound("We fixed it.", external_id="<reply-1@acme.example>", from_agent=True)
    assert (await store.ingest("mail", [echo])).duplicates == 1
    assert len((await store.conversation(conversation)).messages) == 2


def _tangled_threads(prefix: str) -> list[InboundMessage]:
    """Mail and chat that take every threading path: a reply, a reply before its parent,
    siblings answering an unseen message (one naming a second unseen one first), a
    message answered by one stored earlier, a thread key, and two roots whose replies name
    both."""
    p = prefix
    return [
        inbound(external_id=f"<{p}.root@x>", subject="Refund"),
        inbound(external_id=f"<{p}.reply@x>", references=(f"<{p}.root@x>",), minutes=1),
        inbound(external_id=f"<{p}.late@x>", references=(f"<{p}.parent@x>",), minutes=2),
        inbound(external_id=f"<{p}.parent@x>", minutes=3),
        inbound(external_id=f"<{p}.s1@x>", references=(f"<{p}.unseen@x>",), minutes=4),
        inbound(
            external_id=f"<{p}.s2@x>",
            references=(f"<{p}.b-unseen@x>", f"<{p}.unseen@x>"),
            minutes=5,
        ),
        inbound(external_id=f"<{p}.s3@x>", references=(f"<{p}.b-unseen@x>",), minutes=6),
        inbound(external_id=f"<{p}.other@x>", email="bob@x.org", minutes=7),
        inbound(
            external_id=f"<{p}.both@x>",
            references=(f"<{p}.other@x>", f"<{p}.root@x>"),
            minutes=8,
        ),
        inbound(external_id=f"<{p}.unseen@x>", minutes=9),
    ]


async def _threading_of(store: Store, prefix: str, conversations: Sequence[int]) -> list[object]:
    """Each conversation's messages with why they joined it, the prefix taken out."""
    shape: list[object] = []
    for conversation_id in conversations:
        detail = await store.conversation(conversation_id)
        shape.append(
            sorted(
                (
                    (m.external_id or "").replace(prefix, "P"),
                    m.thread_reason,
                    (m.thread_reason_detail or "").replace(prefix, "P"),
                )
                for m in detail.messages
            )
        )
    return sorted(shape, key=repr)


async def test_a_batch_threads_exactly_as_messages_arriving_one_by_one(store: Store) -> None:
    # The batch reads what threading needs once; what it stores itself must count as it
    # goes, so one batch and one batch per message give the same conversations.
    together = await store.ingest("mail", _tangled_threads("one-batch"))
    created: list[int] = []
    for message in _tangled_threads("one-by-one"):
        created += (await store.ingest("mail", [message])).created
    chats = [inbound("hi", thread_key=f"room-{n % 2}", minutes=n) for n in range(4)]
    chat_together = await store.ingest("chat", chats)
    assert len(chat_together.created) == 2
    assert len(set(chat_together.touched)) == 2
    assert await _threading_of(store, "one-batch", together.created) == await _threading_of(
        store, "one-by-one", created
    )
    # root with its reply and "both"; late with its parent; the siblings with what they
    # answer; bob's
    assert len(created) == 4


@pytest.mark.parametrize(
    "body",
    [
        "Hi,\n\nthanks",
        "> quoted\n>more\n\n  \nnew text here",
        "> q\n" * PREVIEW_SCAN + "the answer",  # the new line far past the first part read
        "x" * (PREVIEW_SCAN + 500),  # one long line, cut by the first part read
        # a CRLF break where the first part ends
        "> q\r\n" * (PREVIEW_SCAN // 5 - 1) + "    \r\nanswer\r\n",
        "\u2028".join(["> a", "", "b" * PREVIEW_SCAN * 2]),
        "> only quotes\n" * PREVIEW_SCAN,
    ],
)
def test_the_preview_is_the_first_new_line_however_long_the_body(body: str) -> None:
    expected = next(
        (
            line.strip()[:PREVIEW_CHARS]
            for line in body.splitlines()
            if line.strip() and not line.strip().startswith(">")
        ),
        body.strip()[:PREVIEW_CHARS],
    )
    assert preview_of(body) == expected
