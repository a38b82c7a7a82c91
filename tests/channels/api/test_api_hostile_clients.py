"""The API endpoint against hostile clients, on real loopback HTTP through the real runner:
slow and excess connections, deep JSON, lone surrogates, implausible times."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest

from agentconsole.models import View
from agentconsole.plugin import http_guard
from agentconsole.plugin.http import sign
from agentconsole.store import Store

from .conftest import SECRET, Live, customer_message

HALF_SENT = b"POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


async def half_sent(live: Live) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that starts a request and never finishes its headers (slowloris)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", live.plugin.endpoint.bound_port)
    writer.write(HALF_SENT)
    await writer.drain()
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = 10.0) -> bytes:
    """What the server sent before closing the connection (fails if it stays open)."""
    async with asyncio.timeout(timeout):
        return await reader.read()


@contextlib.asynccontextmanager
async def clients(live: Live, count: int) -> AsyncIterator[list[asyncio.StreamReader]]:
    opened = [await half_sent(live) for _ in range(count)]
    try:
        yield [reader for reader, _ in opened]
    finally:
        for _, writer in opened:
            writer.close()


async def health(store: Store) -> tuple[str, str | None]:
    [channel] = [c for c in await store.channels() if c.name == "site"]
    return channel.health, channel.health_detail


async def wait_for_health(store: Store, wanted: str, timeout: float = 10.0) -> str | None:
    async with asyncio.timeout(timeout):
        while (current := await health(store))[0] != wanted:
            await asyncio.sleep(0.02)
    return current[1]


async def test_a_client_that_never_finishes_its_headers_is_closed(live_api) -> None:
    live = await live_api(header_timeout=0.3)
    async with clients(live, 3) as readers:
        started = time.monotonic()
        for reader in readers:
            assert await closed_by_server(reader) == b""
    assert time.monotonic() - started < 5
    assert live.plugin.endpoint.guard is not None
    assert live.plugin.endpoint.guard.timed_out == 3


async def test_a_client_trickling_its_body_gets_408(live_api, store: Store) -> None:
    live = await live_api(body_timeout=0.3)
    body = json.dumps(customer_message()).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", live.plugin.endpoint.bound_port)
    head = (
        "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Signature: {sign(SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body[:10])
    async with asyncio.timeout(10):
        answer = await reader.readuntil(b"\r\n\r\n")
        answer += await reader.readuntil(b"}")
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"Connection: close" in answer
    assert b"did not arrive within 0.3 s" in answer
    assert await store.conversation_ids(View("all")) == []


async def test_at_the_cap_slow_clients_make_room_and_the_channel_shows_overloaded(
    live_api, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_guard, "CALM_SECONDS", 0.3)
    live = await live_api(max_connections=8)
    await wait_for_health(store, "connected")
    async with clients(live, 8) as readers:
        guard = live.plugin.endpoint.guard
        assert guard is not None and guard.cap == 8
        async with asyncio.timeout(5):
            while guard.open_connections < 8:
                await asyncio.sleep(0.01)
        started = time.monotonic()
        status, answer = await live.post(customer_message())
        assert (status, answer["status"]) == (202, "accepted")
        assert time.monotonic() - started < 1.0
        # The oldest slow client was the one dropped.
        assert await closed_by_server(readers[0]) == b""
        assert guard.dropped >= 1
        detail = await wait_for_health(store, "overloaded")
        assert detail is not None and "8 connections" in detail
    await wait_for_health(store, "connected")


@pytest.mark.sqlite_only  # holds the store file's write lock
async def test_when_every_connection_is_busy_a_new_one_gets_503_with_retry_after(
    live_api, store: Store
) -> None:
    live = await live_api(max_connections=1)
    # Another process holds the store's write lock: the first request waits in its handler.
    locker = sqlite3.connect(store.location, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        first = asyncio.create_task(live.post(customer_message()))
        guard = live.plugin.endpoint.guard
        assert guard is not None
        async with asyncio.timeout(5):
            while guard.busy_connections < 1:
                await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", live.plugin.endpoint.bound_port)
        answer = await closed_by_server(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 503")
        assert b"Retry-After: 5" in answer
        assert guard.refused == 1
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    status, _ = await first
    assert status == 202


async def test_timeouts_are_logged_once_with_a_count(
    live_api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="agentconsole.channel.site")
    live = await live_api(header_timeout=0.2)
    async with clients(live, 5) as readers:
        for reader in readers:
            await closed_by_server(reader)
    timeouts = [r.getMessage() for r in caplog.records if "sent nothing in time" in r.getMessage()]
    assert len(timeouts) == 1
    await live.runner.stop()  # the endpoint stops and says how many more there were
    timeouts = [r.getMessage() for r in caplog.records if "sent nothing in time" in r.getMessage()]
    assert len(timeouts) == 2 and "4 more times" in timeouts[1]


@pytest.mark.parametrize("depth", [100, 100_000])
async def test_deep_json_is_400_saying_so(live_api, store: Store, depth: int) -> None:
    live = await live_api(max_body=1_000_000)
    message = json.dumps(customer_message())
    body = (message[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}").encode()
    status, answer = await live.post(body)
    assert status == 400
    assert "nested deeper than 64 levels" in answer["error"]
    if depth == 100:
        assert answer["field"].startswith("extra[0][0]")
    assert await store.conversation_ids(View("all")) == []


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("text", {"text": "hello \ud800"}),
        ("id", {"id": "m-\udfff"}),
        ("author.name", {"author": {"id": "v-1", "name": "Ada \ud83d"}}),
    ],
)
async def test_a_lone_surrogate_is_400_naming_the_field(
    live_api, store: Store, field: str, change: dict[str, object]
) -> None:
    live = await live_api()
    status, answer = await live.post(json.dumps(customer_message(**change)).encode())
    assert (status, answer["field"]) == (400, field)
    assert "lone surrogate" in answer["error"]
    assert await store.conversation_ids(View("all")) == []


@pytest.mark.parametrize("sent_at", ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z", 1e30, -1e30])
async def test_an_implausible_time_is_stored_as_the_arrival_time_with_a_note(
    live_api, store: Store, sent_at: object
) -> None:
    live = await live_api()
    before = time.time()
    status, _ = await live.post(customer_message(sent_at=sent_at))
    assert status == 202
    [conversation_id] = await store.conversation_ids(View("open"))
    [message] = (await store.conversation(conversation_id)).messages
    assert before - 1 <= message.sent_at <= time.time() + 1
    assert message.parse_note is not None and "implausible" in message.parse_note
