"""Shared fixtures: a temp store and builders for normalized inbound messages."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.store import Store

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


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
async def store(store_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(store_path, agent="alice")
    await store.ensure_channel("mail", "email", "email")
    await store.ensure_channel("chat", "demo", "chat")
    try:
        yield store
    finally:
        await store.close()
