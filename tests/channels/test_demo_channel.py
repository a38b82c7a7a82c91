"""The demo channel driven through the plugin contract, against a real temp store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

import agentconsole_demo
from agentconsole import plugins
from agentconsole.models import OutboxItem
from agentconsole.plugin import ChannelContext, Identity, OutboundMessage, TemporaryError
from agentconsole.store import Store, connect
from agentconsole.sync import outbound_message
from agentconsole_demo import DemoChannel

KINDS = ("email", "chat", "forum")


def channel(kind: str = "chat", **options: object) -> DemoChannel:
    return DemoChannel(ChannelContext(f"demo-{kind}", {"kind": kind, **options}, lambda _: ""))


def outbound(item: OutboxItem) -> OutboundMessage:
    """What the sync runner hands the plugin for a claimed reply."""
    return outbound_message(item)


def reply_to(key: str) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=key, body="Try again now.", subject="Login", thread_key="t-1",
        in_reply_to="t-1/0", references=("t-1/0",),
        recipients=(Identity("demo-chat", "someone"),), author_name="Maria López",
    )  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await connect(tmp_path / "s.db", agent="tester")
    try:
        yield store
    finally:
        await store.close()


def test_the_bundled_plugin_honours_the_static_contract() -> None:
    source = plugins.discover()["demo"]
    assert plugins.load(source) is DemoChannel
    assert channel("forum").kind == "forum" and DemoChannel.kind == "email"


@pytest.mark.parametrize("kind", KINDS)
async def test_fetching_again_from_a_cursor_yields_the_same_messages(kind, monkeypatch) -> None:
    clock = [1_795_000_000.0]
    monkeypatch.setattr(agentconsole_demo, "time", SimpleNamespace(time=lambda: clock[0]))
    first = await channel(kind, interval=10.0).fetch(None)
    clock[0] += 200  # about 20 messages due
    again = [await channel(kind, interval=10.0).fetch(first.cursor) for _ in range(2)]
    ids = [[m.external_id for m in result.messages] for result in again]
    assert len(ids[0]) >= 15 and ids[0] == ids[1]
    assert again[0].messages == again[1].messages
    assert any(m.thread_key or m.references for m in again[0].messages)  # follow-ups thread


@pytest.mark.parametrize("kind", KINDS)
async def test_ingesting_a_refetched_batch_stores_it_once(kind, store, monkeypatch) -> None:
    clock = [1_795_000_000.0]
    monkeypatch.setattr(agentconsole_demo, "time", SimpleNamespace(time=lambda: clock[0]))
    await store.ensure_channel("demo", "demo", kind)
    demo = channel(kind, interval=10.0)
    first = await demo.fetch(None)
    clock[0] += 300
    batch = await demo.fetch(first.cursor)
    stored = await store.ingest("demo", batch.messages, batch.cursor)
    again = await store.ingest("demo", (await demo.fetch(first.cursor)).messages, batch.cursor)
    assert stored.stored == len(batch.messages) > 0
    assert (again.stored, again.duplicates) == (0, len(batch.messages))
    assert len(stored.created) < stored.stored  # some were follow-ups in the same threads


@pytest.mark.parametrize("kind", KINDS)
async def test_a_sent_reply_is_answered_in_the_same_conversation(kind, store) -> None:
    await store.ensure_channel("demo", "demo", kind)
    demo = channel(kind, interval=0.01, reply_delay=0.2)
    batch = await demo.fetch(None)
    while not batch.messages:
        await demo.wait_for_activity(1.0)
        batch = await demo.fetch(batch.cursor)
    report = await store.ingest("demo", batch.messages, batch.cursor)
    conversation_id = report.created[0]
    await store.queue_reply(conversation_id, "Fixed on our side, please try again.")
    [item] = await store.claim_due_replies("demo")
    sent = await demo.send(outbound(item))
    assert sent.external_id == f"demo-out-{item.idempotency_key}"
    await store.mark_sent(item.id, sent.external_id)

    started = time.monotonic()
    answer_id = None
    while answer_id is None and time.monotonic() - started < 3:
        await demo.wait_for_activity(3 - (time.monotonic() - started))
        batch = await demo.fetch(batch.cursor)
        await store.ingest("demo", batch.messages, batch.cursor)
        answer_id = next(
            (m.external_id for m in batch.messages if item.idempotency_key in m.external_id), None
        )
    assert answer_id is not None and time.monotonic() - started >= 0.15
    detail = await store.conversation(conversation_id)
    assert detail.messages[-1].external_id == answer_id
    assert detail.messages[-1].direction == "in"


async def test_sending_twice_returns_one_result_and_one_answer() -> None:
    demo = channel("chat", interval=1000.0, reply_delay=0.05)
    cursor = (await demo.fetch(None)).cursor
    assert await demo.find_sent(reply_to("k1")) is None
    first = await demo.send(reply_to("k1"))
    assert await demo.send(reply_to("k1")) == first
    assert await demo.find_sent(reply_to("k1")) == first
    await asyncio.sleep(0.1)
    answers = [m for m in (await demo.fetch(cursor)).messages if "k1" in m.external_id]
    assert len(answers) == 1 and answers[0].thread_key == "t-1"
    assert "demo-out-k1" in answers[0].references


async def test_an_answer_is_delivered_again_until_a_cursor_acknowledges_it() -> None:
    demo = channel("chat", interval=1000.0, reply_delay=0.01)
    start = await demo.fetch(None)
    await demo.send(reply_to("k2"))
    await asyncio.sleep(0.05)
    lost = await demo.fetch(start.cursor)  # a batch the core failed to commit
    retried = await demo.fetch(start.cursor)
    assert [m.external_id for m in lost.messages] == [m.external_id for m in retried.messages]
    committed = await demo.fetch(retried.cursor)
    assert not [m for m in committed.messages if "k2" in m.external_id]


async def test_wait_for_activity_wakes_for_a_due_answer() -> None:
    demo = channel("email", interval=1000.0, reply_delay=0.1)
    await demo.fetch(None)
    waiting = asyncio.create_task(demo.wait_for_activity(10.0))
    await asyncio.sleep(0.02)
    await demo.send(reply_to("k3"))
    started = time.monotonic()
    await asyncio.wait_for(waiting, 2.0)
    assert time.monotonic() - started < 1.0


async def test_every_seventh_reply_fails_once_then_goes_through() -> None:
    demo = channel("forum", interval=1000.0)
    for number in range(1, 7):
        await demo.send(reply_to(f"r{number}"))
    with pytest.raises(TemporaryError):
        await demo.send(reply_to("r7"))
    assert await demo.find_sent(reply_to("r7")) is None
    assert (await demo.send(reply_to("r7"))).external_id == "demo-out-r7"


def test_the_seed_plan_fills_the_demo_channels_reproducibly() -> None:
    now = 1_795_000_000.0
    plan = DemoChannel.seed_plan(now, 1, "tester")
    channels = {setup.name: setup.kind for setup in DemoChannel.demo_channels}
    assert set(channels) == {"demo-email", "demo-chat", "demo-forum"}
    assert {conversation.channel for conversation in plan} == set(channels)
    assert len(plan) == 360
    ids = [m.external_id for conversation in plan for m in conversation.messages]
    assert len(ids) == len(set(ids))  # ingest must keep every planned message
    assert all(m.sent_at.timestamp() <= now for c in plan for m in c.messages)
    assert DemoChannel.seed_plan(now, 1, "tester") == plan
    assert DemoChannel.seed_plan(now, 2, "tester") != plan
    for setup in DemoChannel.demo_channels:  # each configured kind is the channel's kind
        assert setup.options["kind"] == setup.kind
