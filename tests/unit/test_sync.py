"""The sync runner: fetch → ingest with cursors, outbox delivery with retry, failures
isolated per channel, leases between processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentconsole import config as config_module
from agentconsole.models import View
from agentconsole.plugin import (
    Capabilities,
    ChannelPlugin,
    FetchResult,
    OutboundMessage,
    PermanentError,
    SendResult,
    TemporaryError,
)
from agentconsole.store import Store
from agentconsole.sync import SyncRunner, backoff
from tests.conftest import inbound


class Scripted(ChannelPlugin):
    """A channel whose behaviour each test sets through class attributes."""

    type_name = "scripted"
    kind = "chat"
    capabilities = Capabilities(reply=True, push=True)
    poll_interval = 0.05
    pages: list[list] = []
    send_errors: list[Exception] = []
    delivered: list[OutboundMessage] = []
    found: dict[str, SendResult] = {}

    async def fetch(self, cursor: str | None) -> FetchResult:
        position = int(cursor or 0)
        if position < len(self.pages):
            return FetchResult(
                tuple(self.pages[position]), str(position + 1), more=position + 1 < len(self.pages)
            )
        return FetchResult((), cursor)

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.send_errors:
            raise self.send_errors.pop(0)
        self.delivered.append(message)
        return SendResult(f"out-{message.idempotency_key}")

    async def find_sent(self, message: OutboundMessage) -> SendResult | None:
        return self.found.get(message.idempotency_key)


class Exploding(ChannelPlugin):
    type_name = "exploding"

    def __init__(self, context) -> None:  # noqa: ANN001
        raise RuntimeError("cannot reach the server")

    async def fetch(self, cursor: str | None) -> FetchResult:
        raise AssertionError("never started")


def make_config(**channels: str) -> config_module.Config:
    data = {
        "agent": {"name": "alice"},
        "sync": {"lease_seconds": 3, "retry_max_seconds": 1},
        "channels": {name: {"type": kind} for name, kind in channels.items()},
    }
    return config_module.parse(data, "test.toml")


def reset(pages: list[list] | None = None) -> None:
    Scripted.pages = pages or []
    Scripted.send_errors = []
    Scripted.delivered = []
    Scripted.found = {}


PLUGINS = {"scripted": Scripted, "exploding": Exploding}


async def test_run_once_fetches_every_page_and_saves_the_cursor(store: Store) -> None:
    reset(
        [[inbound(thread_key="a")], [inbound(thread_key="b"), inbound(thread_key="a", minutes=1)]]
    )
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    assert await runner.run_once() == {"live": None}
    assert len(await store.conversation_ids(View("open"))) == 2
    assert await store.channel_cursor("live") == "2"
    # Fetching again from the saved cursor stores nothing new.
    assert await runner.run_once() == {"live": None}
    count = await store.run_sync(lambda c: c.execute("SELECT count(*) FROM messages").fetchone()[0])
    assert count == 3


async def test_a_broken_plugin_puts_only_its_channel_in_error(store: Store) -> None:
    reset([[inbound(thread_key="a")]])
    runner = SyncRunner(
        store, make_config(live="scripted", bad="exploding", gone="nosuch"), plugin_classes=PLUGINS
    )
    results = await runner.run_once()
    assert results["live"] is None
    assert "cannot reach the server" in results["bad"]
    assert "no installed plugin" in results["gone"]
    health = {c.name: (c.health, c.health_detail) for c in await store.channels()}
    assert health["bad"][0] == "error" and "cannot reach the server" in health["bad"][1]
    assert health["live"][0] == "connected"


async def test_replies_are_sent_retried_and_failed_with_a_reason(store: Store) -> None:
    reset([[inbound(thread_key="a")]])
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    await runner.run_once()
    [conversation] = await store.conversation_ids(View("open"))
    first = await store.queue_reply(conversation, "Try turning it off and on")
    Scripted.send_errors = [TemporaryError("connection reset")]
    await runner.run_once()
    message = (await store.conversation(conversation)).messages[-1]
    assert (message.id, message.state, message.error) == (first, "queued", "connection reset")
    await store.run_sync(lambda c: c.execute("UPDATE outbox SET next_attempt_at = 0"))
    await runner.run_once()
    message = (await store.conversation(conversation)).messages[-1]
    assert message.state == "sent" and message.external_id.startswith("out-")
    assert [m.body for m in Scripted.delivered] == ["Try turning it off and on"]

    await store.queue_reply(conversation, "Second")
    Scripted.send_errors = [PermanentError("room no longer exists")]
    await runner.run_once()
    message = (await store.conversation(conversation)).messages[-1]
    assert (message.state, message.error) == ("failed", "room no longer exists")


async def test_a_retry_after_an_uncertain_attempt_does_not_send_twice(store: Store) -> None:
    reset([[inbound(thread_key="a")]])
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    await runner.run_once()
    [conversation] = await store.conversation_ids(View("open"))
    await store.queue_reply(conversation, "Once only")
    # A previous process claimed the reply, the channel got it, then the process died.
    [claimed] = await store.claim_due_replies("live")
    Scripted.found[claimed.idempotency_key] = SendResult("already-there")
    await store.run_sync(lambda c: c.execute("UPDATE outbox SET next_attempt_at = 0"))
    await runner.run_once()
    message = (await store.conversation(conversation)).messages[-1]
    assert (message.state, message.external_id) == ("sent", "already-there")
    assert Scripted.delivered == []


async def test_live_runner_ingests_and_sends_in_the_background(store: Store) -> None:
    reset()
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    await runner.start()
    try:
        Scripted.pages.append([inbound("arrived while running", thread_key="x")])
        for _ in range(100):
            if await store.conversation_ids(View("open")):
                break
            await asyncio.sleep(0.02)
        [conversation] = await store.conversation_ids(View("open"))
        await store.queue_reply(conversation, "on it")
        runner.nudge("live")
        for _ in range(100):
            if Scripted.delivered:
                break
            await asyncio.sleep(0.02)
        assert [m.body for m in Scripted.delivered] == ["on it"]
    finally:
        await runner.stop()


async def test_only_one_process_runs_a_channel(store: Store, store_path: Path) -> None:
    reset()
    other_store = await Store.open(store_path, agent="bob")
    first = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS, owner="one")
    second = SyncRunner(
        other_store, make_config(live="scripted"), plugin_classes=PLUGINS, owner="two"
    )
    await first.start()
    await asyncio.sleep(0.1)
    results = await second.run_once()
    assert results["live"] == "another agentconsole process holds this channel"
    await first.stop()  # releases the lease: the other one may take over
    assert (await second.run_once())["live"] is None
    await other_store.close()


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n, 30) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 30, 30]


class Pushed(ChannelPlugin):
    """A channel that is pushed to (like an HTTP endpoint) rather than polled."""

    type_name = "pushed"
    kind = "chat"

    async def fetch(self, cursor: str | None) -> FetchResult:
        return FetchResult((), cursor)


async def test_pushed_messages_are_committed_before_ingest_returns(store: Store) -> None:
    runner = SyncRunner(store, make_config(hook="pushed"), plugin_classes={"pushed": Pushed})
    plugin = await runner.plugin("hook")
    await plugin.context.ingest([inbound("pushed in", thread_key="w1")])
    [conversation] = await store.conversation_ids(View("open"))
    assert (await store.conversation(conversation)).messages[0].body == "pushed in"
    await runner.stop()


async def test_attachments_travel_with_the_reply_and_are_refused_where_unsupported(
    store: Store,
) -> None:
    from agentconsole.plugin import Attachment

    reset([[inbound(thread_key="a")]])
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    await runner.run_once()
    [conversation] = await store.conversation_ids(View("open"))
    files = (Attachment("steps.pdf", "application/pdf", b"%PDF-1.7 steps"),)
    await store.queue_reply(conversation, "See the attached steps", attachments=files)
    await runner.run_once()
    message = (await store.conversation(conversation)).messages[-1]
    # Scripted cannot carry files: refused with a reason, nothing half-sent.
    assert (message.state, message.error) == ("failed", "channel live cannot send attachments")
    assert [a.filename for a in message.attachments] == ["steps.pdf"]
    Scripted.capabilities = Capabilities(reply=True, push=True, attachments=True)
    try:
        await store.requeue_reply(message.id)
        await runner.run_once()
        assert [a.data for a in Scripted.delivered[-1].attachments] == [b"%PDF-1.7 steps"]
    finally:
        Scripted.capabilities = Capabilities(reply=True, push=True)


def fail_once(store: Store, method: str, error: Exception) -> list[int]:
    """Make ``store.method`` raise ``error`` on its first call (a lock held too long)."""
    original = getattr(store, method)
    calls: list[int] = []

    async def flaky(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 1:
            raise error
        return await original(*args, **kwargs)

    setattr(store, method, flaky)
    return calls


async def test_a_store_hiccup_never_stops_sending_nor_sends_twice(store: Store) -> None:
    import sqlite3

    reset([[inbound(thread_key="a")]])
    config = make_config(live="scripted")
    runner = SyncRunner(store, config, plugin_classes=PLUGINS)
    await runner.run_once()
    [conversation] = await store.conversation_ids(View("open"))
    locked = sqlite3.OperationalError("database is locked")
    fail_once(store, "claim_due_replies", locked)
    fail_once(store, "mark_sent", locked)
    fail_once(store, "acquire_lease", locked)
    await runner.start()
    try:
        await store.queue_reply(conversation, "exactly once")
        runner.nudge("live")
        for _ in range(200):
            message = (await store.conversation(conversation)).messages[-1]
            if message.state == "sent":
                break
            await asyncio.sleep(0.05)
        assert message.state == "sent"
        assert [m.body for m in Scripted.delivered] == ["exactly once"]
    finally:
        await runner.stop()
