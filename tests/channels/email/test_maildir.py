"""Reading a Maildir: everything once, new files as they arrive, the Maildir untouched."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

import agentconsole_email
from agentconsole import config as config_module
from agentconsole.plugin import PermanentError
from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_email import EmailChannel

from .helpers import channel, deliver_to_maildir, fetch_batches, mail, make_maildir, snapshot


async def fetch_all(plugin: EmailChannel, cursor: str | None) -> tuple[list, str | None]:
    messages: list = []
    while True:
        result = await plugin.fetch(cursor)
        messages += result.messages
        cursor = result.cursor
        if not result.more:
            return messages, cursor


async def test_reads_new_and_cur_once_then_only_new_files(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    deliver_to_maildir(root, mail("first", message_id="<m1@example.org>"))
    deliver_to_maildir(root, mail("second", message_id="<m2@example.org>"), seen=True)
    before = snapshot(root)
    plugin = channel(maildir=str(root))
    try:
        messages, cursor = await fetch_all(plugin, None)
        assert sorted(m.subject for m in messages) == ["first", "second"]
        assert all(m.raw for m in messages)
        again, cursor = await fetch_all(plugin, cursor)
        assert again == []
        deliver_to_maildir(root, mail("third", message_id="<m3@example.org>"))
        started = time.monotonic()
        await plugin.wait_for_activity(10)
        assert time.monotonic() - started < 3, "a new file should end the wait"
        new, cursor = await fetch_all(plugin, cursor)
        assert [m.subject for m in new] == ["third"]
    finally:
        await plugin.close()
    after = snapshot(root)
    assert {k: v for k, v in after.items() if "third" not in v[1].decode()} == before


async def test_a_fresh_instance_resumes_from_the_cursor(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    for number in range(3):
        deliver_to_maildir(root, mail(f"mail {number}"))
    first = channel(maildir=str(root))
    _, cursor = await fetch_all(first, None)
    await first.close()
    deliver_to_maildir(root, mail("after restart"))
    second = channel(maildir=str(root))
    try:
        messages, _ = await fetch_all(second, cursor)
    finally:
        await second.close()
    assert [m.subject for m in messages] == ["after restart"]


async def test_a_flag_change_brings_a_message_back_and_dedupe_drops_it(
    tmp_path: Path, store: Store
) -> None:
    root = make_maildir(tmp_path / "Maildir")
    path = deliver_to_maildir(root, mail("flag me", message_id="<flag@example.org>"))
    plugin = channel(maildir=str(root))
    try:
        messages, cursor = await fetch_all(plugin, None)
        await store.ingest("mail", messages, cursor)
        os.rename(path, root / "cur" / f"{path.name}:2,S")  # a mail client marks it read
        again, cursor = await fetch_all(plugin, cursor)
        report = await store.ingest("mail", again, cursor)
    finally:
        await plugin.close()
    assert report.stored == 0


async def test_large_imports_come_in_batches_parsed_by_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agentconsole_email, "MAILDIR_BATCH", 100)
    root = make_maildir(tmp_path / "Maildir")
    for number in range(250):
        deliver_to_maildir(
            root, mail(f"import {number}", message_id=f"<import{number}@example.org>")
        )
    sizes, subjects = await fetch_batches(channel(maildir=str(root)))
    assert sizes == [100, 100, 50]
    assert len(subjects) == 250


async def test_not_a_maildir_is_a_clear_permanent_error(tmp_path: Path) -> None:
    plugin = channel(maildir=str(tmp_path / "missing"))
    try:
        with pytest.raises(
            PermanentError, match=r"\[channels.support\] maildir = .* is not a Maildir"
        ):
            await plugin.fetch(None)
    finally:
        await plugin.close()


async def test_the_sync_runner_keeps_a_maildir_in_the_store(tmp_path: Path, store: Store) -> None:
    root = make_maildir(tmp_path / "Maildir")
    deliver_to_maildir(root, mail("Help", message_id="<q1@example.org>"))
    deliver_to_maildir(
        root,
        mail("Re: Help", message_id="<q2@example.org>", headers="In-Reply-To: <q1@example.org>"),
    )
    config = config_module.parse(
        {
            "agent": {"name": "alice"},
            "channels": {
                "mail": {
                    "type": "email",
                    "maildir": str(root),
                    "from_address": "support@acme.example",
                }
            },
        },
        "test.toml",
    )
    runner = SyncRunner(store, config, plugin_classes={"email": EmailChannel})
    assert await runner.run_once() == {"mail": None}
    await runner.stop()
    rows = await store.run_sync(
        lambda conn: conn.execute(
            "SELECT external_id, conversation_id FROM messages ORDER BY external_id"
        ).fetchall()
    )
    assert [r[0] for r in rows] == ["<q1@example.org>", "<q2@example.org>"]
    assert rows[0][1] == rows[1][1], "the answer threads into the first message's conversation"


async def test_wait_for_activity_returns_after_the_timeout_without_news(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    plugin = channel(maildir=str(root))
    try:
        await fetch_all(plugin, None)
        started = time.monotonic()
        await asyncio.wait_for(plugin.wait_for_activity(0.6), 5)
        assert 0.5 <= time.monotonic() - started < 3
    finally:
        await plugin.close()


async def test_copies_of_our_own_replies_are_left_to_the_outbox(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    ours = "Acme Support <support@acme.example>"
    deliver_to_maildir(
        root, mail("Re: Help [#4]", sender=ours, message_id="<0f3c.agentconsole@acme.example>")
    )
    deliver_to_maildir(
        root,
        mail("Written in another client", sender=ours, message_id="<thunderbird-1@acme.example>"),
    )
    plugin = channel(maildir=str(root))
    try:
        messages, _ = await fetch_all(plugin, None)
    finally:
        await plugin.close()
    assert [(m.subject, m.from_agent) for m in messages] == [("Written in another client", True)]
