"""Message identity and crashes against a real Dovecot: mail sharing a Message-ID with other
content is kept, a redelivered copy is not, and ``agentconsole sync --once`` killed with
SIGKILL at several points of an initial sync and restarted at once ends with every message
exactly once and the mailbox untouched."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_email import EmailChannel
from tests.channels.email.helpers import mail
from tests.integration.conftest import ImapUser

from .test_imap_smtp import _toml, make_config, options

pytestmark = pytest.mark.integration

#: Headers servers add on the way: a copy carrying them is the same message.
HOPS = (
    b"Received: from relay.example.net by mx.acme.example; Tue, 3 Sep 2024 10:00:00 +0200\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=mail;\r\n"
    b"\tbh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=; b=c2lnbmF0dXJl\r\n"
    b"X-Spam-Status: No, score=-1.0\r\n"
)


async def test_same_message_id_with_other_bodies_both_arrive_and_a_copy_does_not(
    imap_user: ImapUser, store: Store
) -> None:
    first = mail("Broken link", "The download link is broken.", message_id="<same@example.org>")
    second = mail("Broken link", "Sorry, it works now.", message_id="<same@example.org>")
    imap_user.append(first)
    imap_user.append(HOPS + first)  # delivered a second time, through one more relay
    imap_user.append(second)
    runner = SyncRunner(
        store, make_config(options(imap_user)), plugin_classes={"email": EmailChannel}
    )
    try:
        assert await runner.run_once() == {"mail": None}
        assert await runner.run_once() == {"mail": None}  # fetched again: nothing new
    finally:
        await runner.stop()
    (row,) = await store.list_conversations(_any_status())
    messages = (await store.conversation(row.id)).messages
    assert [m.body.strip() for m in messages] == [
        "The download link is broken.",
        "Sorry, it works now.",
    ]
    assert [m.external_id for m in messages] == ["<same@example.org>"] * 2
    assert messages[1].parse_note == (
        f"same Message-ID as message {messages[0].id}, different content"
    )


def _any_status() -> Any:
    from agentconsole.models import ListFilter

    return ListFilter(status="any")


# -- kill -9 during an initial sync -------------------------------------------------------

#: More than two IMAP batches (500 each), so kills land between and inside commits.
MESSAGES = 1200
LEASE_SECONDS = 2


def mailbox_state(user: ImapUser) -> tuple[int, dict[int, tuple[bytes, ...]]]:
    """UIDVALIDITY and every message's UID with its flags, read without changing anything."""
    client = user.client()
    try:
        selected = client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        flags = client.get_flags(uids) if uids else {}
        return int(selected[b"UIDVALIDITY"]), {uid: tuple(sorted(f)) for uid, f in flags.items()}
    finally:
        client.logout()


def stored_counts(store_path: Path) -> tuple[int, int]:
    """(messages, distinct Message-IDs) committed so far, read as another process would."""
    if not store_path.exists():
        return 0, 0
    try:
        with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(
                "SELECT count(*), count(DISTINCT external_id) FROM messages"
            ).fetchone()
    except sqlite3.OperationalError:  # the schema is being created
        return 0, 0


def lease_expires(store_path: Path) -> float:
    """When the channel's lease runs out (0 when nobody holds it)."""
    if not store_path.exists():
        return 0.0
    try:
        with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=10) as conn:
            row = conn.execute("SELECT lease_expires FROM channels WHERE name = 'mail'").fetchone()
    except sqlite3.OperationalError:  # the schema is being created
        return 0.0
    return float(row[0]) if row and row[0] is not None else 0.0


def lease_taken(store_path: Path) -> bool:
    return stored_counts(store_path) == (0, 0) and lease_expires(store_path) > 0


class Sync:
    """``agentconsole sync --once`` as a real subprocess (its own process group, so its
    parse workers die with it)."""

    def __init__(self, config: Path, store_path: Path) -> None:
        self.command = [
            sys.executable,
            "-m",
            "agentconsole.cli",
            "--config",
            str(config),
            "--store",
            str(store_path),
            "sync",
            "--once",
        ]
        self.store_path = store_path
        #: Restarts refused because the killed process still held the channel's lease.
        self.lease_refusals = 0

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def kill_when(self, condition: Any, timeout: float = 120.0) -> bool:
        """Run (restarting a run refused for the lease) and SIGKILL the run once
        ``condition(store_path)`` holds; False when a run finished before it was seen."""
        deadline = time.monotonic() + timeout
        process = self.start()
        while time.monotonic() < deadline:
            if condition(self.store_path):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
                return True
            if process.poll() is not None:
                if not self._refused_for_lease(process, process.communicate()[0]):
                    return False
                process = self.start()
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        raise AssertionError("the kill point was not reached in time")

    def complete(self) -> subprocess.CompletedProcess[str]:
        """Run to the end (restarting a run refused for the lease)."""
        for _ in range(10):
            process = self.start()
            out, err = process.communicate(timeout=180)
            if not self._refused_for_lease(process, out):
                return subprocess.CompletedProcess(self.command, process.returncode, out, err)
        raise AssertionError("the channel's lease was never released")

    def _refused_for_lease(self, process: subprocess.Popen[str], out: str) -> bool:
        """Whether the run stopped because the killed process still held the channel's
        lease; if so, waits until that lease has expired (``lease_seconds`` is short)."""
        if process.returncode == 0 or "another agentconsole process holds" not in out:
            return False
        self.lease_refusals += 1
        while lease_expires(self.store_path) >= time.time():
            time.sleep(0.1)
        return True


def test_kill_9_during_an_initial_sync_then_restart_stores_each_message_once(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    body = "My order has not arrived yet; tracking says it is stuck in transit.\r\n" * 20
    expected = {f"<kill{n}@example.org>" for n in range(MESSAGES)}
    client = imap_user.client()
    try:
        for number in range(MESSAGES):
            client.append(
                "INBOX", mail(f"Order {number}", body, message_id=f"<kill{number}@example.org>")
            )
    finally:
        client.logout()
    before = mailbox_state(imap_user)
    assert len(before[1]) == MESSAGES

    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "alice"\n\n[sync]\nlease_seconds = {LEASE_SECONDS}\n\n'
        "[channels.mail]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in options(imap_user).items())
    )
    sync = Sync(config, tmp_path / "store.db")
    points = [
        lease_taken,  # fetching the first batch, nothing committed
        lambda path: stored_counts(path)[0] > 0,  # a batch committed, the next in flight
        lambda path: stored_counts(path)[0] >= 1000,  # two batches in, the last in flight
    ]
    killed = [sync.kill_when(point) for point in points]
    assert sum(killed) >= 2, f"most kills must land while the sync runs: {killed}"
    finished = sync.complete()
    assert finished.returncode == 0, finished.stdout + finished.stderr

    assert stored_counts(sync.store_path) == (MESSAGES, MESSAGES), "exact count, no duplicate"
    with sqlite3.connect(sync.store_path) as conn:
        ids = {r[0] for r in conn.execute("SELECT external_id FROM messages")}
    assert ids == expected
    again = sync.complete()  # one more pass finds nothing new
    assert again.returncode == 0 and stored_counts(sync.store_path) == (MESSAGES, MESSAGES)
    assert mailbox_state(imap_user) == before, "UIDs, UIDVALIDITY and flags unchanged"
    print(f"kills mid-run: {killed}; restarts refused for the lease: {sync.lease_refusals}")
