"""The sync runner: fetch → ingest with cursors, outbox delivery with retry, failures
isolated per channel, leases between processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

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
from agentconsole.store import Store, connect
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


async def test_only_one_process_runs_a_channel(store: Store, store_location: str | Path) -> None:
    reset()
    other_store = await connect(store_location, agent="bob")
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


async def channel_health(store: Store, name: str = "live") -> tuple[str, str | None]:
    [channel] = [c for c in await store.channels() if c.name == name]
    return channel.health, channel.health_detail


async def make_due(store: Store) -> None:
    await store.run_sync(lambda c: c.execute("UPDATE outbox SET next_attempt_at = 0"))


async def one_conversation(runner: SyncRunner, store: Store) -> int:
    await runner.run_once()
    [conversation] = await store.conversation_ids(View("open"))
    return conversation


async def test_failing_sends_show_in_the_health_until_one_succeeds(store: Store) -> None:
    reset([[inbound(thread_key="a")]])
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    conversation = await one_conversation(runner, store)
    await store.queue_reply(conversation, "first")
    await store.queue_reply(conversation, "second")
    down = "cannot reach smtp.example.com"
    Scripted.send_errors = [TemporaryError(down), TemporaryError(down)]
    result = (await runner.run_once())["live"]
    expected = f"sending failing: {down} — 2 replies waiting, next try in 1 s"
    assert result == expected, "sync --once reports it"
    # Read after the pass, with the lease given up: no next try is coming from it.
    assert await channel_health(store) == (
        "error",
        f"sending failing: {down} — 2 replies waiting; no sync process runs this channel now",
    )
    await make_due(store)
    assert await runner.run_once() == {"live": None}
    assert await channel_health(store) == ("connected", None), "cleared once sends succeed"
    assert [m.body for m in Scripted.delivered] == ["first", "second"]


class Unsure(Scripted):
    """A channel that cannot tell whether a reply got through (like IRC)."""

    type_name = "unsure"
    resend_when_unsure = False


async def test_an_unknown_delivery_is_never_resent_blindly(store: Store) -> None:
    reset([[inbound(thread_key="a")]])
    runner = SyncRunner(store, make_config(live="unsure"), plugin_classes={"unsure": Unsure})
    conversation = await one_conversation(runner, store)
    reply = await store.queue_reply(conversation, "maybe said")
    # A process claimed it and died while sending; its claim lapsed.
    await store.claim_due_replies("live")
    await make_due(store)
    assert await runner.run_once() == {"live": None}
    message = (await store.conversation(conversation)).messages[-1]
    assert message.state == "failed" and message.error is not None
    assert message.error.startswith("unknown — check the channel")
    assert f"agentconsole retry {reply}" in message.error
    assert Scripted.delivered == []
    await store.requeue_reply(reply)  # the agent checked: it never arrived
    await runner.run_once()
    assert [m.body for m in Scripted.delivered] == ["maybe said"]


async def test_a_reply_claimed_but_unsure_is_resent_where_a_repeat_is_recognised(
    store: Store,
) -> None:
    reset([[inbound(thread_key="a")]])
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    conversation = await one_conversation(runner, store)
    await store.queue_reply(conversation, "again")
    await store.claim_due_replies("live")
    await make_due(store)
    await runner.run_once()
    assert [m.body for m in Scripted.delivered] == ["again"]


class Filing(Scripted):
    """A channel with a follow-up after each send (like email's Sent copy)."""

    type_name = "filing"
    filed: list[bytes] = []
    filing_errors: list[Exception] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        result = await super().send(message)
        return SendResult(result.external_id, follow_up=b"copy of " + message.body.encode())

    async def after_send(self, result: SendResult) -> None:
        if self.filing_errors:
            raise self.filing_errors.pop(0)
        assert result.follow_up is not None
        self.filed.append(result.follow_up)


async def test_a_failing_follow_up_is_retried_on_its_own_and_never_resends(
    store: Store,
) -> None:
    reset([[inbound(thread_key="a")]])
    Filing.filed, Filing.filing_errors = [], [TemporaryError("IMAP down"), OSError("again")]
    runner = SyncRunner(store, make_config(live="filing"), plugin_classes={"filing": Filing})
    conversation = await one_conversation(runner, store)
    await store.queue_reply(conversation, "filed later")
    assert await runner.run_once() == {"live": None}, "the reply went out: not a failure"
    message = (await store.conversation(conversation)).messages[-1]
    assert message.state == "sent" and Filing.filed == []
    for _ in range(2):
        await store.run_sync(lambda c: c.execute("UPDATE outbox_followups SET next_attempt_at = 0"))
        await runner.run_once()
    assert Filing.filed == [b"copy of filed later"]
    assert [m.body for m in Scripted.delivered] == ["filed later"], "sent exactly once"
    pending = await store.due_followups("live")
    assert pending == []


@pytest.mark.sqlite_only
async def test_a_full_store_commits_what_fits_and_says_the_disk_is_full(store: Store) -> None:
    batch = [inbound("x" * 3000 + str(n), thread_key=f"t{n}") for n in range(64)]
    reset([batch])
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    await runner.plugin("live")
    pages = await store.run_sync(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await store.run_sync(lambda c: c.execute(f"PRAGMA max_page_count = {pages + 40}"))
    result = (await runner.run_once())["live"]
    assert result is not None and "the disk is full" in result
    stored = await store.run_sync(lambda c: c.execute("SELECT count(*) FROM messages").fetchone())
    assert 0 < stored[0] < 64, "what fits is committed"
    assert f"{stored[0]} of 64 messages of this batch stored" in result
    health, detail = await channel_health(store)
    assert health == "error" and detail is not None and "the disk is full" in detail
    assert await store.channel_cursor("live") is None, "the cursor waits for the whole batch"
    await store.run_sync(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))
    assert await runner.run_once() == {"live": None}
    stored = await store.run_sync(lambda c: c.execute("SELECT count(*) FROM messages").fetchone())
    assert stored[0] == 64, "the rest came with the next fetch, nothing stored twice"


@pytest.mark.sqlite_only
async def test_a_quiet_runner_merges_the_search_index(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Once its channels are quiet the runner merges the full-text index into one piece,
    step by step, and every message is still found."""
    from agentconsole import sync
    from agentconsole.store import search_upkeep

    monkeypatch.setattr(search_upkeep, "MERGE_FROM", 2)
    monkeypatch.setattr(sync, "TIDY_STEP_PAUSE", 0.01)
    monkeypatch.setattr(sync, "TIDY_WHEN_QUIET", 0.1)

    async def pieces() -> int:
        return await store.run_sync(lambda conn: conn.dialect.search_index_pieces(conn))

    for n in range(10):  # ten write transactions: the index in several pieces
        await store.ingest("mail", [inbound(f"invoice {n}", thread_key=f"q{n}")])
    assert await pieces() > 1
    reset()
    runner = SyncRunner(store, make_config(live="scripted"), plugin_classes=PLUGINS)
    await runner.start()
    try:
        for _ in range(500):
            if await pieces() == 1:
                break
            await asyncio.sleep(0.02)
        assert await pieces() == 1
        assert len(await store.search("invoice")) == 10
    finally:
        await runner.stop()
