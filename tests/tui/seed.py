"""Building stores for the TUI tests through the public store API only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentconsole import config as config_module
from agentconsole.config import Config
from agentconsole.plugin import Attachment, Author, Identity, InboundMessage
from agentconsole.store import Store, connect

#: The tests' "now": Tuesday 4 March 2025, 12:00 UTC.
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
NOW_TS = NOW.timestamp()

HOSTILE = (
    "[bold]x[/bold] [@click=app.quit]q[/] [link=http://e.x]l[/link] stray [/] "
    "\x1b]52;c;SGVsbG8=\x07 \x1b]0;pwned\x07 \x1b[2J \x9b31m end"
)


def clock() -> float:
    return NOW_TS


def make_config(
    agent: str = "alice",
    keys: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> Config:
    """A config for ``agent``; ``extra`` adds tables (``{"compose": {...}}``)."""
    data: dict[str, object] = {"agent": {"name": agent}, **(extra or {})}
    if keys:
        data["keys"] = keys
    return config_module.parse(data, "test-config.toml")


def message(
    external_id: str,
    body: str,
    *,
    name: str = "Carol Customer",
    address: str = "carol@example.com",
    namespace: str = "email",
    subject: str = "",
    hours_ago: float = 1.0,
    thread_key: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    parse_note: str | None = None,
    automated: bool = False,
    url: str | None = None,
    raw: bytes | None = None,
) -> InboundMessage:
    return InboundMessage(
        external_id=external_id,
        author=Author(name, (Identity(namespace, address),)),
        body=body,
        sent_at=NOW - timedelta(hours=hours_ago),
        subject=subject,
        thread_key=thread_key or external_id,
        attachments=attachments,
        parse_note=parse_note,
        automated=automated,
        url=url,
        raw=raw,
    )


async def open_store(path: Path, agent: str = "alice") -> Store:
    store = await connect(path, agent=agent)
    await store.ensure_channel("support", "email", "email")
    await store.ensure_channel("livechat", "demo", "chat")
    await store.ensure_channel("community", "demo", "forum")
    return store


async def seed_basic(path: Path, agent: str = "alice") -> dict[str, int]:
    """A handful of conversations on three channels; returns ids by a short name."""
    store = await open_store(path, agent)
    try:
        ids: dict[str, int] = {}
        report = await store.ingest(
            "support",
            [
                message(
                    "refund-1",
                    "Hello,\nI was charged twice for my order.\nPlease refund one.",
                    subject="Refund for order 1042",
                    hours_ago=3,
                )
            ],
        )
        ids["refund"] = report.created[0]
        report = await store.ingest(
            "support",
            [
                message(
                    "login-1",
                    "I cannot log in since yesterday.",
                    subject="Login broken",
                    name="Dan Doe",
                    address="dan@example.com",
                    hours_ago=26,
                )
            ],
        )
        ids["login"] = report.created[0]
        report = await store.ingest(
            "livechat",
            [
                message(
                    "chat-1",
                    "hi, is anyone there?",
                    name="Carol Customer",
                    address="carol@example.com",
                    hours_ago=0.5,
                    thread_key="room-1",
                ),
                message(
                    "chat-2",
                    "my invoice is wrong",
                    name="Carol Customer",
                    address="carol@example.com",
                    hours_ago=0.4,
                    thread_key="room-1",
                ),
            ],
        )
        ids["chat"] = report.created[0]
        report = await store.ingest(
            "community",
            [
                message(
                    "post-1",
                    "How do I export my data?",
                    subject="Export data",
                    name="Erin Forum",
                    namespace="discourse:forum.example.com",
                    address="erin",
                    hours_ago=50,
                    url="https://forum.example.com/t/export/1",
                )
            ],
        )
        ids["forum"] = report.created[0]
        await store.set_priority(ids["login"], 0)
        await store.set_priority(ids["refund"], 1)
        await store.retag(ids["refund"], ["billing"])
        return ids
    finally:
        await store.close()


async def seed_many(path: Path, count: int, agent: str = "alice") -> None:
    store = await open_store(path, agent)
    try:
        batch = [
            message(
                f"bulk-{index}",
                f"Question number {index}",
                subject=f"Question {index}",
                name=f"Customer {index}",
                address=f"c{index}@example.com",
                hours_ago=1 + index / 60,
            )
            for index in range(count)
        ]
        for start in range(0, count, 500):
            await store.ingest("support", batch[start : start + 500])
    finally:
        await store.close()
