"""The demo store seeder: a realistic multichannel day, written through the real pipeline."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentconsole.config import check_channel_options
from agentconsole.demo import SeedSummary, demo_config, seed_store
from agentconsole.models import PRIORITIES, STATUSES
from agentconsole.store import Store
from agentconsole_demo import DemoChannel

NOW = 1_795_000_000.0  # a fixed "now" (2026-11-18) keeps the day reproducible


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[tuple[Store, SeedSummary, float]]:
    store = await Store.open(tmp_path / "s.db", agent="tester")
    try:
        started = time.perf_counter()
        summary = await seed_store(store, now=NOW)
        yield store, summary, time.perf_counter() - started
    finally:
        await store.close()


def _facts(conn: sqlite3.Connection) -> dict[str, object]:
    def column(sql: str) -> list[object]:
        return [row[0] for row in conn.execute(sql)]

    return {
        "channels": dict(
            conn.execute(
                "SELECT ch.name, count(*) FROM conversations c JOIN channels ch"
                " ON ch.id = c.channel_id GROUP BY ch.name"
            ).fetchall()
        ),
        "multichannel": conn.execute(
            "SELECT count(*) FROM (SELECT contact_id FROM conversations GROUP BY contact_id"
            " HAVING count(DISTINCT channel_id) >= 2)"
        ).fetchone()[0],
        "statuses": set(column("SELECT DISTINCT status FROM conversations")),
        "priorities": set(column("SELECT DISTINCT priority FROM conversations")),
        "assignees": set(column("SELECT DISTINCT assignee FROM conversations")),
        "tags": set(column("SELECT DISTINCT tag FROM conversation_tags")),
        "snoozes": column("SELECT snooze_until FROM conversations WHERE status = 'snoozed'"),
        "notes": conn.execute("SELECT count(*) FROM messages WHERE direction = 'note'").fetchone()[
            0
        ],
        "outbox": conn.execute("SELECT state, last_error FROM outbox").fetchall(),
        "waits": column(
            f"SELECT {NOW} - waiting_since FROM conversations WHERE status = 'open'"
            " AND waiting_since IS NOT NULL"
        ),
        "oldest": conn.execute("SELECT min(sent_at) FROM messages").fetchone()[0],
        "bracket_names": column("SELECT name FROM contacts WHERE name LIKE '%[%]%'"),
    }


async def test_seed_fills_a_realistic_multichannel_day(seeded) -> None:
    store, summary, elapsed = seeded
    facts = await store.run_sync(_facts)
    assert summary.conversations >= 300
    assert facts["channels"].keys() == {"demo-email", "demo-chat", "demo-forum"}
    assert sum(facts["channels"].values()) == summary.conversations
    assert facts["multichannel"] >= 20
    assert summary.multichannel_contacts == facts["multichannel"]
    assert facts["statuses"] == set(STATUSES)
    assert facts["priorities"] == set(range(len(PRIORITIES)))
    assert all(until > NOW for until in facts["snoozes"])
    assert {"tester", "maria", "kenji", "priya"} <= facts["assignees"]
    assert {"billing", "bug", "refund", "vip", "feature-request", "shipping", "login"} <= facts[
        "tags"
    ]
    assert facts["notes"] > 0
    states = [state for state, _ in facts["outbox"]]
    assert states.count("sent") >= 5 and 1 <= states.count("failed") <= 2
    assert all(error for state, error in facts["outbox"] if state == "failed")
    waits = facts["waits"]
    assert min(waits) < 3600 and max(waits) > 12 * 3600  # minutes to most of a day
    assert facts["oldest"] >= NOW - 24 * 3600 - 1
    assert facts["bracket_names"] == ["Robin Okafor [Northwind IT]"]
    assert elapsed < 2.0


async def test_seeded_conversations_show_history_across_channels(seeded) -> None:
    store, _, _ = seeded
    contact_id = await store.run_sync(
        lambda conn: conn.execute(
            "SELECT contact_id FROM conversations GROUP BY contact_id"
            " HAVING count(DISTINCT channel_id) >= 2 LIMIT 1"
        ).fetchone()[0]
    )
    conversation_id = await store.run_sync(
        lambda conn: conn.execute(
            "SELECT id FROM conversations WHERE contact_id = ? LIMIT 1", (contact_id,)
        ).fetchone()[0]
    )
    detail = await store.conversation(conversation_id)
    channels = {row.channel for row in detail.other_conversations} | {detail.row.channel}
    assert len(channels) >= 2


async def test_seeding_is_deterministic(tmp_path: Path) -> None:
    def subjects(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
        return conn.execute(
            "SELECT ch.name, c.subject, c.status FROM conversations c JOIN channels ch"
            " ON ch.id = c.channel_id ORDER BY c.id"
        ).fetchall()

    results = []
    for name in ("a.db", "b.db"):
        store = await Store.open(tmp_path / name, agent="tester")
        try:
            summary = await seed_store(store, now=NOW, seed=7)
            results.append((summary, await store.run_sync(subjects)))
        finally:
            await store.close()
    assert results[0] == results[1]


async def test_seeding_a_seeded_store_again_adds_nothing(seeded) -> None:
    store, summary, _ = seeded
    assert await seed_store(store, now=NOW) == summary


def test_demo_config_runs_the_three_demo_channels() -> None:
    config = demo_config(agent="tester")
    assert config.agent == "tester"
    assert {name: c.options["kind"] for name, c in config.channels.items()} == {
        "demo-email": "email",
        "demo-chat": "chat",
        "demo-forum": "forum",
    }
    rate = 0.0
    for channel in config.channels.values():
        assert channel.type == DemoChannel.type_name
        options = check_channel_options(channel, DemoChannel)
        rate += 1 / options["interval"]
    assert rate >= 1 / 5  # a new message every few seconds across the three
