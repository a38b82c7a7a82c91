"""Fixtures for the feed channel: real feed files, served over real loopback HTTP with
ETag / Last-Modified, and a sync runner for a feed channel."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_feed import FeedChannel
from tests.conftest import http_server, one_channel_config

DATA = Path(__file__).parent / "data"
LAST_MODIFIED = "Fri, 20 Nov 2026 09:30:00 GMT"


def feed_file(name: str) -> bytes:
    return (DATA / name).read_bytes()


@dataclass
class FeedServer:
    """Serves ``documents`` (path → (content type, bytes)) like a real web server does:
    a strong ETag and Last-Modified, 304 on a matching conditional GET."""

    base: str = ""
    documents: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], int]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        document = self.documents.get(request.path)
        if document is None:
            self.requests.append((request.path, dict(request.headers), 404))
            return web.Response(status=404, text="Not Found")
        content_type, body = document
        body = body.replace(b"TRACKER", self.base.encode())
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if request.headers.get("If-None-Match") == etag:
            self.requests.append((request.path, dict(request.headers), 304))
            return web.Response(status=304, headers={"ETag": etag})
        self.requests.append((request.path, dict(request.headers), 200))
        return web.Response(
            body=body,
            headers={"Content-Type": content_type, "ETag": etag, "Last-Modified": LAST_MODIFIED},
        )


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server = FeedServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    async with http_server(app) as base:
        server.base = base
        yield server


@pytest.fixture
def feed_runner(store: Store, runners: list[SyncRunner]) -> Any:
    """``make(url, **options)`` → a SyncRunner with one feed channel named ``news``."""

    def make(url: str, **options: Any) -> SyncRunner:
        config = one_channel_config("news", {"type": "feed", "url": url, **options})
        runners.append(SyncRunner(store, config, plugin_classes={"feed": FeedChannel}))
        return runners[-1]

    return make
