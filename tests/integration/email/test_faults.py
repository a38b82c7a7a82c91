"""The fault matrix, against the real servers the suite starts (Dovecot, aiosmtpd) and the
real ``agentconsole`` command: kill -9 while sending, lease takeover after a kill, the SMTP
server down then up, a read-only store, a full store. Every wait is on a condition (the
SMTP server's count, the store's state) with a timeout, never a fixed sleep."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from agentconsole import config as config_module
from agentconsole.models import ChannelRecord
from agentconsole.query import parse
from agentconsole.store import Store, connect
from agentconsole.sync import SyncRunner
from agentconsole_email import EmailChannel
from agentconsole_email.smtp import reply_message_id
from tests.channels.email.helpers import SUPPORT, mail
from tests.integration.conftest import (
    ImapUser,
    SmtpServer,
    _Recorder,
    free_port,
)
from tests.integration.email.test_imap_smtp import _toml, options, sent_folder_ids
from tests.readonly import read_only

pytestmark = pytest.mark.integration

#: Longer than any test: a process that waited for the lease to expire would time out.
LONG_LEASE = 300


def write_config(folder: Path, table: dict[str, Any], **sync: Any) -> Path:
    path = folder / "config.toml"
    sync_table = {"lease_seconds": LONG_LEASE, "retry_max_seconds": 1, **sync}
    path.write_text(
        '[agent]\nname = "alice"\n\n[sync]\n'
        + "".join(f"{k} = {_toml(v)}\n" for k, v in sync_table.items())
        + "\n[channels.mail]\n"
        + "".join(f"{k} = {_toml(v)}\n" for k, v in table.items())
    )
    return path


def cli(config: Path, store: str | Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "agentconsole.cli",
        "--config",
        str(config),
        "--store",
        str(store),
    ]


def run(
    config: Path, store: str | Path, *args: str, data: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli(config, store), *args],
        input=data,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_store(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """A fresh reader each time (the test never holds the store open across a kill)."""
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        return conn.execute(sql, args).fetchall()


def maildir_options(folder: Path, smtp: SmtpServer | None = None, **extra: Any) -> dict[str, Any]:
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {"type": "email", "from_address": SUPPORT, "maildir": str(folder)}
    if smtp is not None:
        values.update(smtp_host=smtp.host, smtp_port=smtp.port, smtp_tls="none")
    values.update(extra)
    return values


def drop_mail(folder: Path, count: int, prefix: str = "m") -> None:
    for number in range(count):
        raw = mail(
            f"Question {number}",
            f"Body of question {number}.\n" + "More detail. " * 40,
            sender=f"Customer {number} <c{number}@example.org>",
            message_id=f"<{prefix}{number}@example.org>",
        )
        (folder / "new" / f"{prefix}{number}.eml").write_bytes(raw)


def message_ids(received: list[Any]) -> list[str]:
    return [str(message_from_bytes(m.data)["Message-ID"]) for m in received]


# -- kill -9 while sending -------------------------------------------------------------------


class SyncProcess:
    """``agentconsole sync`` as a service would run it; ``kill`` is kill -9."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        #: The point of every kill, in order.
        self.kills: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*self.command, "sync"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill(self, point: str) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
                self.kills.append(point)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class WatchingProxy:
    """A loopback TCP relay to ``target_port`` that shows ``watch`` every chunk a client
    sends before relaying it (to kill the client at an exact protocol step)."""

    def __init__(self, target_port: int, watch: Callable[[bytes], None]) -> None:
        self.target_port = target_port
        self.watch = watch
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            upstream.settimeout(None)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            if from_client:
                self.watch(data)
            try:
                sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


async def test_kill_9_while_sending_delivers_every_reply_once_and_files_it_once(
    imap_user: ImapUser, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    chance = random.Random(os.environ.get("FAULT_SEED", "kill-while-sending"))
    service_holder: list[SyncProcess] = []
    appends: list[int] = []
    # Kill at the k-th APPEND of a Sent copy: the reply was recorded before it, always.
    append_kills = set(chance.sample(range(1, 40), 2))

    def watch_imap(data: bytes) -> None:
        if b" APPEND " in data and service_holder:
            appends.append(1)
            if len(appends) in append_kills:
                service_holder[0].kill("filing the Sent copy")

    proxy = WatchingProxy(imap_user.server.port, watch_imap)
    imap_user.append(mail("Fifty answers please", message_id="<fifty@example.org>"))
    config = write_config(tmp_path, options(imap_user, smtp_server, imap_port=proxy.port))
    store_file = tmp_path / "store.db"
    assert run(config, store_file, "sync", "--once").returncode == 0
    store = await connect(store_file, agent="alice")
    try:
        (row,) = await store.find(parse("status:any"))
        for number in range(50):
            await store.queue_reply(row.id, f"Answer {number}.")
        keys = [
            key
            for (key,) in await store.run_sync(
                lambda c: c.execute("SELECT idempotency_key FROM outbox").fetchall()
            )
        ]
    finally:
        await store.close()
    expected = {reply_message_id(key, SUPPORT) for key in keys}

    service = SyncProcess(cli(config, store_file))
    service_holder.append(service)
    # Three more kills in the SMTP transaction: before the server's 250 (the client never
    # learns it was accepted: a real resend) or a random few milliseconds after a 250
    # (recording it, between replies, the next SMTP session).
    plan = {n: chance.choice(["before 250", "after 250"]) for n in chance.sample(range(3, 48), 3)}
    recorder: _Recorder = smtp_server.recorder
    accept = recorder.handle_DATA

    async def handle_data(server: Any, session: Any, envelope: Any) -> str:
        point = plan.pop(len(recorder.messages) + 1, None)
        if point == "before 250":
            service.kill(point)
            return "451 the client is gone"
        answer = await accept(server, session, envelope)
        if point == "after 250":
            delay = chance.uniform(0.002, 0.040)
            threading.Timer(delay, service.kill, args=(point,)).start()
        return answer

    recorder.handle_DATA = handle_data  # type: ignore[method-assign]
    #: Per kill: what the server had accepted that the dead process had not recorded.
    unrecorded: list[tuple[str, set[str]]] = []

    def sent_in_store() -> set[str]:
        rows = read_store(
            store_file,
            "SELECT m.external_id FROM outbox o JOIN messages m ON m.id = o.message_id"
            " WHERE o.state = 'sent'",
        )
        return {r[0] for r in rows}

    def finished() -> bool:
        if service.process is not None and service.process.poll() is not None:
            # Killed: note what the server accepted that the dead process had not recorded
            # (the stated window between the 250 and the commit), then restart at once.
            with service.lock:
                point = service.kills[-1]
            accepted = set(message_ids(smtp_server.messages))
            unrecorded.append((point, accepted - sent_in_store()))
            service.start()
        states = read_store(store_file, "SELECT state, count(*) FROM outbox GROUP BY state")
        filed = read_store(store_file, "SELECT count(*) FROM outbox_followups WHERE done_at > 0")
        return dict(states) == {"sent": 50} and filed[0][0] == 50

    service.start()
    try:
        wait_until(finished, 120, "all 50 replies sent and filed across the kills")
    finally:
        service.stop()
        proxy.close()
    assert len(service.kills) == 5, f"every planned kill happened: {service.kills}"
    for point, missing in unrecorded:
        if point != "after 250":
            assert missing == set(), f"killed {point}: accepted replies left unrecorded"
    counts = Counter(message_ids(smtp_server.messages))
    assert set(counts) == expected, "every reply reached the SMTP server"
    doubled = {mid for mid, count in counts.items() if count > 1}
    in_window = set().union(*(missing for _, missing in unrecorded))
    assert all(counts[mid] == 2 for mid in doubled)
    assert doubled <= in_window, f"sent twice outside the 250-to-commit window: {doubled}"
    assert Counter(sent_folder_ids(imap_user)) == Counter(expected), "filed in Sent once each"


# -- lease takeover --------------------------------------------------------------------------


async def test_after_kill_9_the_next_process_takes_over_at_once(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    folder = tmp_path / "Maildir"
    config = write_config(tmp_path, maildir_options(folder, smtp_server))
    drop_mail(folder, 1)
    store_file = tmp_path / "store.db"
    service = SyncProcess(cli(config, store_file))
    service.start()
    assert service.process is not None
    pid = service.process.pid

    def held_by_service() -> bool:
        if not store_file.exists():
            return False
        with contextlib.suppress(sqlite3.Error):
            rows = read_store(store_file, "SELECT lease_pid FROM channels WHERE name = 'mail'")
            return rows == [(pid,)]
        return False

    try:
        wait_until(held_by_service, 60, "the service to hold the channel")
        service.kill("holding the lease")
        started = time.monotonic()
        again = run(config, store_file, "sync", "--once")
        took = time.monotonic() - started
    finally:
        service.stop()
    assert again.returncode == 0, again.stderr + again.stdout
    assert took < LONG_LEASE / 10, "taken over at once, not after the lease expired"


# -- the SMTP server down, then up ------------------------------------------------------------


async def test_smtp_down_shows_in_channels_then_clears_and_delivers_once(
    tmp_path: Path, store: Store, store_location: str | Path
) -> None:
    folder = tmp_path / "Maildir"
    port = free_port()  # nothing listens here yet: the server is down
    down = SmtpServer("127.0.0.1", port, _Recorder())
    table = maildir_options(folder, down)
    drop_mail(folder, 1)
    config = write_config(tmp_path, table)
    parsed = config_module.load(str(config))
    runner = SyncRunner(store, parsed, plugin_classes={"email": EmailChannel})
    assert (await runner.run_once())["mail"] is None
    (row,) = await store.find(parse("status:any"))
    for number in range(3):
        await store.queue_reply(row.id, f"Reply {number}")
    await runner.start()
    try:

        async def failing() -> str | None:
            channel = await mail_channel(store)
            detail = channel.health_detail or ""
            return detail if channel.health == "error" and "replies waiting" in detail else None

        detail = await until(failing, 30)
        assert detail.startswith(f"sending failing: cannot reach SMTP server 127.0.0.1:{port}")
        assert "3 replies waiting, next try in" in detail
        text = run(config, store_location, "channels")
        assert text.returncode == 0 and "sending failing: cannot reach SMTP server" in text.stdout
        listed = {
            entry["name"]: entry
            for entry in map(
                json.loads, run(config, store_location, "channels", "--json").stdout.splitlines()
            )
        }["mail"]
        assert listed["health"] == "error" and listed["detail"].startswith("sending failing")

        with running_smtp_server_on(port) as up:
            await until(lambda: _done(store), 60)
            assert sorted(Counter(message_ids(up.messages)).values()) == [1, 1, 1]

            async def cleared() -> bool:
                return (await mail_channel(store)).health != "error"

            await until(cleared, 30)
    finally:
        await runner.stop()
    text = run(config, store_location, "channels")
    assert "sending failing" not in text.stdout


async def test_a_send_failure_left_by_a_process_that_ended_is_read_as_it_stands_now(
    tmp_path: Path, store: Store, store_location: str | Path
) -> None:
    """``sync --once`` with the SMTP server down leaves "sending failing" in the channel's
    health and ends: no next try is coming, and ``channels`` says so instead of counting
    down. Once the replies no longer wait (another process gave up on them), nobody needs
    to run for the warning to go; with the server up, the next process sends and clears."""
    folder = tmp_path / "Maildir"
    port = free_port()  # nothing listens here yet: the server is down
    config = write_config(
        tmp_path, maildir_options(folder, SmtpServer("127.0.0.1", port, _Recorder()))
    )
    drop_mail(folder, 1)
    assert run(config, store_location, "sync", "--once").returncode == 0
    (row,) = await store.find(parse("status:any"))
    for number in range(2):
        await store.queue_reply(row.id, f"Reply {number}")
    failed = run(config, store_location, "sync", "--once")
    assert "sending failing: cannot reach SMTP server" in failed.stdout + failed.stderr
    shown = run(config, store_location, "channels").stdout
    assert "sending failing: cannot reach SMTP server" in shown
    assert "2 replies waiting; no sync process runs this channel now" in shown
    assert "next try in" not in shown

    # Another process gives up on one: the count is the live one.
    outbox = await store.run_sync(
        lambda c: [r[0] for r in c.execute("SELECT id FROM outbox ORDER BY id").fetchall()]
    )
    other = await connect(store_location, agent="bob")
    try:
        await other.mark_failed(outbox[0], "given up by hand")
        assert "1 reply waiting" in run(config, store_location, "channels").stdout
        # With the server up, the next process sends the other one and the warning goes.
        with running_smtp_server_on(port) as up:
            assert run(config, store_location, "sync", "--once").returncode == 0
            assert len(up.messages) == 1
        assert "sending failing" not in run(config, store_location, "channels").stdout

        # A failure again, and then nothing waits any more (the last one is given up by
        # another process): the warning goes although nothing ran the channel since.
        await store.queue_reply(row.id, "Reply 2")
        run(config, store_location, "sync", "--once")
        assert "sending failing" in run(config, store_location, "channels").stdout
        [last] = await other.run_sync(
            lambda c: [r[0] for r in c.execute("SELECT id FROM outbox WHERE state = 'queued'")]
        )
        await other.mark_failed(last, "given up by hand")
        listed = json.loads(
            run(config, store_location, "channels", "--json").stdout.splitlines()[0]
        )
        assert (listed["health"], listed["detail"]) == ("idle", None)
    finally:
        await other.close()


async def mail_channel(store: Store) -> ChannelRecord:
    [channel] = [c for c in await store.channels() if c.name == "mail"]
    return channel


async def _done(store: Store) -> bool:
    rows = await store.run_sync(lambda c: c.execute("SELECT state FROM outbox").fetchall())
    return bool(rows) and all(state == "sent" for (state,) in rows)


async def until(predicate: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@contextlib.contextmanager
def running_smtp_server_on(port: int) -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    recorder = _Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, recorder)
    finally:
        controller.stop()


# -- a read-only store -----------------------------------------------------------------------


def test_a_read_only_store_reads_refuses_writes_and_deliver_asks_to_retry(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, maildir_options(tmp_path / "Maildir"))
    data = tmp_path / "data"
    data.mkdir()
    first = run(config, data / "store.db", "deliver", "--channel", "mail", data=mail_text(1))
    assert first.returncode == 0, first.stderr
    with read_only(data) as ro:
        store_file = ro / "store.db"
        listed = run(config, store_file, "list")
        assert listed.returncode == 0, listed.stderr
        assert "Question 1" in listed.stdout
        shown = run(config, store_file, "show", "1")
        assert shown.returncode == 0 and "Body of question 1" in shown.stdout
        assert run(config, store_file, "channels").returncode == 0
        for command in (["close", "1"], ["reply", "1"]):
            refused = run(config, store_file, *command, data="an answer\n")
            assert refused.returncode == 1, refused.stderr
            assert f"the store at {store_file} is read-only" in refused.stderr
            assert "Traceback" not in refused.stderr
        delivered = run(config, store_file, "deliver", "--channel", "mail", data=mail_text(2))
        assert delivered.returncode == 75, "the mail server keeps the message"
        assert "read-only" in delivered.stderr
    assert (
        run(config, data / "store.db", "deliver", "--channel", "mail", data=mail_text(2)).returncode
        == 0
    )


def mail_text(number: int) -> str:
    return mail(
        f"Question {number}",
        f"Body of question {number}.",
        message_id=f"<ro{number}@example.org>",
    ).decode()


# -- a full store ----------------------------------------------------------------------------


@pytest.mark.sqlite_only
async def test_a_full_store_ingests_what_fits_says_disk_full_and_resumes(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "Maildir"
    table = maildir_options(folder)
    drop_mail(folder, 1000)
    runner = SyncRunner(
        store,
        config_module.load(str(write_config(tmp_path, table))),
        plugin_classes={"email": EmailChannel},
    )
    await runner.plugin("mail")
    pages = await store.run_sync(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await store.run_sync(lambda c: c.execute(f"PRAGMA max_page_count = {pages + 100}"))
    result = (await runner.run_once())["mail"]
    assert result is not None and "the disk is full" in result, result
    (stored,) = await store.run_sync(
        lambda c: c.execute("SELECT count(*) FROM messages").fetchone()
    )
    assert 0 < stored < 1000, "the batch shrank and what fits was committed"
    channel = await mail_channel(store)
    assert channel.health == "error" and "the disk is full" in (channel.health_detail or "")
    await store.run_sync(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))
    assert (await runner.run_once())["mail"] is None
    rows = await store.run_sync(
        lambda c: c.execute(
            "SELECT external_id, count(*) FROM messages GROUP BY external_id"
        ).fetchall()
    )
    assert len(rows) == 1000 and all(count == 1 for _, count in rows), "all of it, once"
    await runner.stop()
