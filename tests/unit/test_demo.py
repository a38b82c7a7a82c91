"""The demo store seeder: a realistic multichannel day, written through the real pipeline."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentconsole.config import check_channel_options
from agentconsole.demo import SeedSummary, demo_config, demo_plugin, seed_store
from agentconsole.errors import PluginLoadError
from agentconsole.models import PRIORITIES, STATUSES
from agentconsole.store import Store, connect
from agentconsole_demo import DemoChannel
from tests.conftest import inbound

NOW = 1_795_000_000.0  # a fixed "now" (2026-11-18) keeps the day reproducible


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[tuple[Store, SeedSummary]]:
    # (how long seeding takes is the bench's business, not a test's)
    store = await connect(tmp_path / "s.db", agent="tester")
    try:
        summary = await seed_store(store, now=NOW)
        yield store, summary
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
    store, summary = seeded
    facts = await store.run_sync(_facts)
    assert summary.conversations == 360  # the README promises 360
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


async def test_seeded_conversations_show_history_across_channels(seeded) -> None:
    store, _ = seeded
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
        store = await connect(tmp_path / name, agent="tester")
        try:
            summary = await seed_store(store, now=NOW, seed=7)
            results.append((summary, await store.run_sync(subjects)))
        finally:
            await store.close()
    assert results[0] == results[1]


async def test_seeding_a_seeded_store_again_adds_nothing(seeded) -> None:
    store, summary = seeded
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


def test_the_demo_comes_from_the_plugin_registered_as_demo() -> None:
    assert demo_plugin() is DemoChannel


# A user's plugin folder overrides the bundled ``demo`` plugin: the core seeds whatever the
# plugin found by discovery plans, through the contract alone.
TINY_DEMO = """
from datetime import UTC, datetime
from agentconsole.plugin import (Author, ChannelPlugin, DemoChannelSetup, FetchResult,
                                 Identity, InboundMessage, SeedConversation)

class TinyDemo(ChannelPlugin):
    type_name = "demo"
    kind = "chat"
    demo_channels = (DemoChannelSetup("tiny-chat", "chat", {}),) if OFFERS else ()

    @classmethod
    def seed_plan(cls, now, seed, agent):
        author = Author("Ada", (Identity("email", "ada@example.com"),))
        message = InboundMessage(f"tiny-{seed}", author, "Hello?", datetime.fromtimestamp(now, UTC),
                                 thread_key="t1")
        return (SeedConversation("tiny-chat", (message,), status="pending", assignee=agent,
                                 tags=("tiny",)),)

    async def fetch(self, cursor):
        return FetchResult((), cursor)

PLUGIN = TinyDemo
"""


async def test_seeding_writes_the_plan_of_the_discovered_plugin(tmp_path: Path) -> None:
    (tmp_path / "demo.py").write_text("OFFERS = True\n" + TINY_DEMO)
    plugin = demo_plugin(tmp_path)
    assert plugin.__name__ == "TinyDemo"
    config = demo_config("tester", plugin)
    assert [(c.name, c.type) for c in config.channels.values()] == [("tiny-chat", "demo")]
    store = await connect(tmp_path / "s.db", agent="tester")
    try:
        summary = await seed_store(store, plugin, now=NOW)
        detail = await store.conversation(1)
    finally:
        await store.close()
    assert (summary.conversations, summary.messages) == (1, 1)
    assert (detail.row.channel, detail.row.status, detail.row.assignee) == (
        "tiny-chat",
        "pending",
        "tester",
    )


def test_a_demo_plugin_without_demo_channels_is_refused(tmp_path: Path) -> None:
    (tmp_path / "demo.py").write_text("OFFERS = False\n" + TINY_DEMO)
    with pytest.raises(PluginLoadError, match="offers no demo channels"):
        demo_plugin(tmp_path)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTCONSOLE_AGENT": "alice", "AGENTCONSOLE_CONFIG": os.devnull}
    return subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _count(path: Path) -> int:
    result = _cli("--store", str(path), "list", "--status", "any", "--json")
    assert result.returncode == 0, result.stderr
    return len([json.loads(line) for line in result.stdout.splitlines()])


async def test_demo_refuses_a_store_with_real_mail_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "real.db"
    store = await connect(path, agent="alice")
    try:
        await store.ensure_channel("support", "email", "email")
        await store.ingest("support", [inbound("My order never came.")])
    finally:
        await store.close()

    refused = _cli("demo", "--seed-only", "--store", str(path))
    assert refused.returncode == 2
    assert str(path) in refused.stderr and "--force" in refused.stderr
    assert "support" in refused.stderr
    assert _count(path) == 1  # the real mail alone, nothing mixed in

    forced = _cli("demo", "--seed-only", "--store", str(path), "--force")
    assert forced.returncode == 0, forced.stderr
    assert _count(path) == 361


def test_demo_seeds_an_already_seeded_demo_store_again(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    for _ in range(2):
        result = _cli("demo", "--seed-only", "--store", str(path))
        assert result.returncode == 0, result.stderr
        assert "360 conversations" in result.stdout
