"""Bots on the API channel, through the real HTTP endpoint: a bot's and an agent's lines are
theirs (not the customer's, no waiting clock), and a hand-off brings the conversation into
the queue with the whole transcript."""

from __future__ import annotations

from datetime import datetime

from agentconsole.models import View
from agentconsole.query import parse
from agentconsole.sla import settings_from_config
from agentconsole.store import Store

from .conftest import customer_message

BOT = {"id": "helpbot", "name": "Helpbot", "role": "bot"}
ADA = {
    "id": "visitor-7",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "email_verified": True,
}


def at(minute: int) -> str:
    return f"2026-11-20T09:{minute:02d}:00Z"


def timestamp(minute: int) -> float:
    return datetime.fromisoformat(at(minute).replace("Z", "+00:00")).timestamp()


def line(message_id: str, author: dict[str, str], text: str, minute: int) -> dict[str, object]:
    return {"id": message_id, "author": author, "text": text, "sent_at": at(minute)}


async def test_a_hand_off_brings_the_whole_transcript_into_the_queue(
    live_api, store: Store
) -> None:
    await store.use_sla(
        settings_from_config(
            [{"name": "chat", "first_response": "10m", "business_hours": False}], None, "t.toml"
        )
    )
    live = await live_api()
    hand_off = {
        "id": "b-3",
        "conversation": "chat-42",
        "author": BOT,
        "text": "I am passing you to a person.",
        "sent_at": at(4),
        "handoff": True,
        "transcript": [
            line("b-1", BOT, "Hi! How can I help?", 0),
            line("m-1", ADA, "My order never arrived.", 1),
            line("b-2", BOT, "What is the order number?", 2),
            line("m-2", ADA, "#1234, and I want a person.", 3),
        ],
    }
    status, answer = await live.post(hand_off)
    assert (status, answer) == (202, {"status": "accepted", "id": "b-3"})
    [conversation_id] = await store.conversation_ids(View("unassigned"))
    detail = await store.conversation(conversation_id)
    lines = [(m.external_id, m.direction, m.author_role, m.author) for m in detail.messages]
    assert lines == [
        ("b-1", "out", "bot", "Helpbot"),
        ("m-1", "in", None, "Ada Lovelace"),
        ("b-2", "out", "bot", "Helpbot"),
        ("m-2", "in", None, "Ada Lovelace"),
        ("b-3", "out", "bot", "Helpbot"),
    ]
    # The conversation is the customer's, though the bot spoke first.
    assert detail.contact.name == "Ada Lovelace"
    assert {(i.namespace, i.address) for i in detail.contact.identities} >= {
        ("email", "ada@example.com")
    }
    row = detail.row
    assert row.status == "open" and "bot-handoff" in row.tags
    # The customer waits for a person from the hand-off on; the bot was no first response.
    assert row.waiting_since == timestamp(4)
    assert detail.first_response_at is None and detail.handed_off_at == timestamp(4)
    assert (row.sla, row.sla_target, row.sla_due_at) == ("chat", "first_response", timestamp(14))
    handoffs = [e for e in await store.audit_log(conversation_id) if e.action == "handoff"]
    assert [(e.agent, e.action) for e in handoffs] == [("bot", "handoff")]
    # Posted again (the bot retried), nothing is stored twice.
    assert (await live.post(hand_off))[0] == 202
    assert len((await store.conversation(conversation_id)).messages) == 5


async def test_bot_and_agent_lines_do_not_start_the_customers_clock(live_api, store: Store) -> None:
    live = await live_api()
    greeting = customer_message(id="b-1", author=BOT, text="Hello, I am Helpbot.")
    assert (await live.post(greeting))[0] == 202
    [conversation_id] = await store.find(parse("status:open"))
    assert conversation_id.waiting_since is None
    assert await store.find(parse("is:waiting")) == []
    assert (await live.post(customer_message(id="m-1", author=ADA, sent_at=at(1))))[0] == 202
    assert [r.id for r in await store.find(parse("is:waiting"))] == [conversation_id.id]
    answered = customer_message(id="b-2", author=BOT, text="Have you tried…", sent_at=at(2))
    assert (await live.post(answered))[0] == 202
    assert await store.find(parse("is:waiting")) == []
    agent = {"id": "alice", "name": "Alice (support)", "role": "agent"}
    assert (await live.post(customer_message(id="a-1", author=agent, sent_at=at(3))))[0] == 202
    detail = await store.conversation(conversation_id.id)
    roles = [(m.direction, m.author_role) for m in detail.messages]
    assert roles == [("out", "bot"), ("in", None), ("out", "bot"), ("out", "agent")]
    # The bot greeted first, but the conversation is Ada's.
    assert detail.contact.name == "Ada Lovelace"
    # An agent's line is the first response; the bot's were not.
    assert detail.first_response_at == timestamp(3)


async def test_an_unknown_role_or_a_bad_transcript_is_refused(live_api, store: Store) -> None:
    live = await live_api()
    status, answer = await live.post(customer_message(author={**ADA, "role": "robot"}))
    assert status == 400 and "author.role must be one of customer, bot, agent" in answer["error"]
    status, answer = await live.post(customer_message(transcript=[{"id": "x"}]))
    assert status == 400 and answer["error"].startswith("transcript[0].author")
    status, answer = await live.post(customer_message(handoff="yes"))
    assert status == 400 and "handoff must be true or false" in answer["error"]
    assert await store.conversation_ids(View("open")) == []
