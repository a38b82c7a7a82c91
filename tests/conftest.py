"""Shared fixtures: a temp store and builders for normalized inbound messages."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from agentconsole import config as config_module
from agentconsole.config import Config
from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.store import Store, connect
from agentconsole.sync import SyncRunner

from . import postgres_server

BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
_counter = itertools.count(1)


def inbound(
    body: str = "Hello, my invoice is wrong.",
    *,
    external_id: str | None = None,
    name: str = "Ada Lovelace",
    email: str | None = "ada@example.com",
    identities: tuple[Identity, ...] | None = None,
    minutes: float = 0,
    **fields: object,
) -> InboundMessage:
    """A normalized inbound message; ``minutes`` after BASE_TIME."""
    if identities is None:
        identities = (Identity("email", email),) if email else ()
    return InboundMessage(
        external_id=external_id or f"<m{next(_counter)}@example.com>",
        author=Author(name, identities),
        body=body,
        sent_at=BASE_TIME + timedelta(minutes=minutes),
        **fields,  # type: ignore[arg-type]
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the backend of the `store` fixture; with postgresql only the tests that use a"
        " store run, against a PostgreSQL server the suite starts",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--store") != "postgresql":
        return
    chosen = [
        item
        for item in items
        if "store_location" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("sqlite_only") is None
    ]
    config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
    items[:] = chosen


@pytest.fixture(scope="session")
def postgres() -> Iterator[postgres_server.PostgresServer]:
    """A real PostgreSQL server with a migrated template database."""
    try:
        server = postgres_server.start()
    except postgres_server.PostgresUnavailable as error:
        # As for every server the suite needs: a skip with the reason on a developer's
        # machine, a failure under CI.
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL could not start: {error}")
        pytest.skip(f"PostgreSQL cannot run: {error}")
    try:

        async def migrate() -> None:
            await (await connect(server.url(postgres_server.TEMPLATE), agent="setup")).close()

        asyncio.run(migrate())
        yield server
    finally:
        server.stop()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """Where the test's store is: a SQLite file (``store_path``'s), or
    (``--store=postgresql``) a fresh database on the suite's PostgreSQL server."""
    if request.config.getoption("--store") != "postgresql":
        yield tmp_path / "store.db"
        return
    server: postgres_server.PostgresServer = request.getfixturevalue("postgres")
    url = server.new_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
async def store(store_location: str | Path) -> AsyncIterator[Store]:
    store = await connect(store_location, agent="alice")
    await store.ensure_channel("mail", "email", "email")
    await store.ensure_channel("chat", "demo", "chat")
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def http_server(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def one_channel_config(name: str, table: dict[str, object]) -> Config:
    """A config with one channel and quick leases/retries, as the channel tests use."""
    return config_module.parse(
        {
            "agent": {"name": "alice"},
            "sync": {"lease_seconds": 5, "retry_max_seconds": 1},
            "channels": {name: table},
        },
        "test.toml",
    )


@pytest.fixture
async def runners() -> AsyncIterator[list[SyncRunner]]:
    """Sync runners a test starts; every one is stopped afterwards."""
    started: list[SyncRunner] = []
    try:
        yield started
    finally:
        for runner in started:
            await runner.stop()
