"""Fixtures for the API channel: a live sync runner serving the endpoint on a loopback port
and a real HTTP callback server that records what it receives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agentconsole import config as config_module
from agentconsole.plugin.http import sign
from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_api import ApiChannel
from tests.conftest import http_server

SECRET = "s3cret-shared-key"


@dataclass
class Callback:
    """A real HTTP server standing in for the website that receives replies."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    #: Answers to give, in order (status, headers); 200 once they run out.
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        self.arrived.set()
        status, headers = self.script.pop(0) if self.script else (200, {})
        return web.json_response({"ok": status < 300}, status=status, headers=headers)

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def callback() -> AsyncIterator[Callback]:
    recorder = Callback()
    app = web.Application()
    app.router.add_post("/replies", recorder.handle)
    async with http_server(app) as base:
        recorder.url = f"{base}/replies"
        yield recorder


def api_config(callback_url: str = "", **options: Any) -> config_module.Config:
    channel = {
        "type": "api",
        "listen": "127.0.0.1:0",
        "secret_command": f"printf {SECRET}",
        "callback_url": callback_url,
        **options,
    }
    data = {
        "agent": {"name": "alice"},
        "sync": {"lease_seconds": 5, "retry_max_seconds": 1},
        "channels": {"site": channel},
    }
    return config_module.parse(data, "test.toml")


@dataclass
class Live:
    runner: SyncRunner
    plugin: ApiChannel
    base: str
    http: aiohttp.ClientSession

    async def post(
        self,
        payload: Any,
        *,
        secret: str = SECRET,
        content_type: str = "application/json",
        signature: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "Content-Type": content_type,
            "X-Signature": signature if signature is not None else sign(secret, body),
        }
        async with self.http.post(f"{self.base}/messages", data=body, headers=headers) as reply:
            return reply.status, await reply.json()


@pytest.fixture
async def live_api(
    store: Store, callback: Callback
) -> AsyncIterator[Callable[..., Awaitable[Live]]]:
    """Start a runner with one API channel named ``site``; returns once it listens."""
    started: list[Live] = []

    async def start(**options: Any) -> Live:
        runner = SyncRunner(
            store, api_config(callback.url, **options), plugin_classes={"api": ApiChannel}
        )
        await runner.start()
        plugin = await runner.plugin("site")
        assert isinstance(plugin, ApiChannel)
        async with asyncio.timeout(10):
            while not plugin.endpoint.running:
                await asyncio.sleep(0.01)
        live = Live(
            runner,
            plugin,
            f"http://127.0.0.1:{plugin.endpoint.bound_port}",
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)),
        )
        started.append(live)
        return live

    try:
        yield start
    finally:
        for live in started:
            await live.http.close()
            await live.runner.stop()


def customer_message(**overrides: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "msg-1",
        "conversation": "chat-42",
        "author": {"id": "visitor-7", "name": "Ada Lovelace", "email": "ada@example.com"},
        "text": "Hi! My order #1234 never arrived.",
        "sent_at": "2026-11-20T09:00:00Z",
    }
    message.update(overrides)
    return message
