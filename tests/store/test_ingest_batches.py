"""An ingest batch reads its conversations' state once and writes each conversation's
changes once at its end: the conversations it leaves must be exactly those its messages
leave arriving one batch each (on both backends)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentconsole.plugin import Attachment, Identity, InboundMessage
from agentconsole.store import Store
from tests.conftest import inbound

#: What a conversation shows and the queue orders by (its id and contact aside).
_COLUMNS = (
    "subject, preview, status, message_count, last_message_at, waiting_since,"
    " first_response_at, snooze_until, resolved_at, handed_off_at, spam"
)


def _opening(prefix: str) -> list[InboundMessage]:
    """Three conversations: a mail thread, a chat a bot opened, a chat room."""
    return [
        inbound("order late", external_id=f"<{prefix}.a1@x>", subject="Order", minutes=0),
        inbound(
            "hello, I am the bot",
            external_id=f"<{prefix}.b1@x>",
            thread_key=f"{prefix}-bot",
            author_role="bot",
            minutes=1,
        ),
        inbound(
            "first line", external_id=f"<{prefix}.c1@x>", thread_key=f"{prefix}-room", minutes=2
        ),
    ]


def _tangle(prefix: str) -> list[InboundMessage]:
    """Every way a message changes its conversation, several per conversation, some sent
    before what is stored (an older Date), after the conversations were closed."""
    a1 = f"<{prefix}.a1@x>"
    customer = Identity("email", f"{prefix}@example.com")
    return [
        inbound(
            "answer", external_id=f"<{prefix}.a2@x>", references=(a1,), from_agent=True, minutes=10
        ),
        inbound("still late", external_id=f"<{prefix}.a3@x>", references=(a1,), minutes=12),
        inbound("older news", external_id=f"<{prefix}.a4@x>", references=(a1,), minutes=5),
        inbound(
            "out of office",
            external_id=f"<{prefix}.a5@x>",
            references=(a1,),
            automated=True,
            minutes=30,
        ),
        inbound("again", external_id=f"<{prefix}.a6@x>", references=(a1,), minutes=14),
        inbound(
            "I need help",
            external_id=f"<{prefix}.b2@x>",
            thread_key=f"{prefix}-bot",
            identities=(customer,),
            name="Grace",
            minutes=20,
        ),
        inbound(
            "a person will answer",
            external_id=f"<{prefix}.b3@x>",
            thread_key=f"{prefix}-bot",
            author_role="bot",
            handoff=True,
            minutes=21,
        ),
        inbound(
            "thanks",
            external_id=f"<{prefix}.b4@x>",
            thread_key=f"{prefix}-bot",
            identities=(customer,),
            name="Grace",
            minutes=22,
        ),
        inbound(
            "agent here",
            external_id=f"<{prefix}.c2@x>",
            thread_key=f"{prefix}-room",
            from_agent=True,
            minutes=25,
        ),
        inbound(
            "late customer", external_id=f"<{prefix}.c3@x>", thread_key=f"{prefix}-room", minutes=3
        ),
        inbound("a new one", external_id=f"<{prefix}.d1@x>", subject="New", minutes=40),
        inbound(
            "more", external_id=f"<{prefix}.d2@x>", references=(f"<{prefix}.d1@x>",), minutes=41
        ),
    ]


async def _conversations(store: Store, channel: str) -> list[tuple[Any, ...]]:
    def read(db: Any) -> list[tuple[Any, ...]]:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM conversations c JOIN channels ch ON ch.id = c.channel_id"
            " WHERE ch.name = ? ORDER BY c.id",
            (channel,),
        ).fetchall()
        return [tuple(row) for row in rows]

    return await store.run_sync(read)


async def _ingest(
    store: Store, channel: str, messages: Sequence[InboundMessage], *, one_by_one: bool
) -> None:
    batches = [[message] for message in messages] if one_by_one else [list(messages)]
    for batch in batches:
        await store.ingest(channel, batch, None)


async def test_a_batch_leaves_its_conversations_as_one_message_per_batch_does(store: Store) -> None:
    await store.ensure_channel("other", "demo", "chat")
    results = []
    for channel, one_by_one in (("chat", False), ("other", True)):
        prefix = channel
        await _ingest(store, channel, _opening(prefix), one_by_one=one_by_one)
        ids = [
            row
            for row in await store.run_sync(
                lambda db, name=channel: [
                    r[0]
                    for r in db.execute(
                        "SELECT c.id FROM conversations c JOIN channels ch ON ch.id = c.channel_id"
                        " WHERE ch.name = ? ORDER BY c.id",
                        (name,),
                    )
                ]
            )
        ]
        for conversation_id in ids:
            await store.set_status(conversation_id, "closed")
        await _ingest(store, channel, _tangle(prefix), one_by_one=one_by_one)
        results.append(await _conversations(store, channel))
    batched, one_at_a_time = results
    assert batched == one_at_a_time
    statuses = [row[2] for row in batched]
    # the thread and the room reopened by their customers, the bot's chat by its hand-off
    assert statuses == ["open", "open", "open", "open"]
    assert [row[3] for row in batched] == [6, 4, 3, 2]


def _written_at_once(prefix: str, next_conversation: int) -> list[InboundMessage]:
    """A batch whose later messages read or change what its earlier ones opened: a token
    naming a conversation the batch opened, a contact merge moving the batch's messages, a
    large mail (written at once, slice by slice) with an attachment."""
    ada = Identity("email", f"ada-{prefix}@example.com")
    handle = Identity("chat", f"ada-{prefix}")
    return [
        inbound("from the chat handle", identities=(handle,), subject="Hi", minutes=0),
        inbound("refund please", identities=(ada,), subject="Refund", minutes=1),
        inbound(
            "as I said",
            identities=(ada,),
            conversation_token=str(next_conversation + 2),  # "Refund"
            minutes=2,
        ),
        # Both identities: the handle's contact and the mail's are one person.
        inbound("it is me", identities=(ada, handle), subject="Both", minutes=3),
        inbound(
            "a large mail",
            identities=(Identity("email", f"big-{prefix}@example.com"),),
            subject="Big",
            raw=b"Subject: Big\r\n\r\n" + b"x" * (1 << 21),
            attachments=(Attachment("a.txt", "text/plain", b"attached"),),
            minutes=4,
        ),
    ]


async def test_a_batch_reading_what_it_opened_stores_what_one_message_per_batch_does(
    store: Store,
) -> None:
    await store.ensure_channel("other", "demo", "chat")
    results = []
    for channel, one_by_one in (("chat", False), ("other", True)):
        top = await store.run_sync(
            lambda db: int(
                db.execute("SELECT coalesce(max(id), 0) FROM conversations").fetchone()[0]
            )
        )
        await _ingest(store, channel, _written_at_once(channel, top), one_by_one=one_by_one)

        def read(db: Any, name: str = channel) -> tuple[Any, ...]:
            messages = db.execute(
                "SELECT m.body, c.subject, m.contact_id = c.contact_id, m.thread_reason,"
                " (SELECT length(raw) FROM raw_messages r WHERE r.message_id = m.id),"
                " (SELECT count(*) FROM attachments a WHERE a.message_id = m.id)"
                " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                " JOIN channels ch ON ch.id = m.channel_id WHERE ch.name = ? ORDER BY m.id",
                (name,),
            ).fetchall()
            contacts = db.execute(
                "SELECT count(DISTINCT m.contact_id) FROM messages m"
                " JOIN channels ch ON ch.id = m.channel_id WHERE ch.name = ?"
                " AND m.author_address LIKE 'ada-%'",
                (name,),
            ).fetchone()[0]
            return [tuple(row) for row in messages], contacts

        results.append((await _conversations(store, channel), await store.run_sync(read)))
    batched, one_at_a_time = results
    assert batched == one_at_a_time
    conversations, (messages, ada_contacts) = batched
    # The token's message joined the refund conversation; the merge left Ada one contact.
    assert [(body, subject) for body, subject, *_ in messages][2] == ("as I said", "Refund")
    assert ada_contacts == 1
    assert all(row[2] for row in messages)
    assert messages[4][4:] == (len(b"Subject: Big\r\n\r\n") + (1 << 21), 1)
    assert [row[3] for row in conversations] == [1, 2, 1, 1]
