"""The email channel against a real Dovecot (IMAP, IDLE, Sent folder) and a real SMTP
server (aiosmtpd), driven by the real sync runner and store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from agentconsole import config as config_module
from agentconsole.plugin import PermanentError, TemporaryError
from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_email import EmailChannel, imap
from tests.channels.email.helpers import SUPPORT, UTF7_MAIL, channel, fetch_batches, mail
from tests.integration.conftest import ImapUser, SmtpServer

pytestmark = pytest.mark.integration


def options(user: ImapUser, smtp: SmtpServer | None = None, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "type": "email",
        "from_address": SUPPORT,
        "imap_host": "127.0.0.1",
        "imap_port": user.server.port,
        "imap_tls": "none",
        "username": user.name,
        "password_command": f"printf %s {user.password}",
        "timeout": 10.0,
    }
    if smtp is not None:
        values.update(smtp_host=smtp.host, smtp_port=smtp.port, smtp_tls="none")
    values.update(extra)
    return values


class IdleWatch:
    """Which IMAP connections are inside an IDLE right now, and how many IDLEs began: the
    real client's own calls, counted, so a test waits for IDLE instead of guessing a pause."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from imapclient import IMAPClient

        self.active: set[int] = set()
        self.started = 0
        idle, idle_done = IMAPClient.idle, IMAPClient.idle_done

        def watched_idle(client: Any) -> Any:
            answer = idle(client)
            self.active.add(id(client))
            self.started += 1
            return answer

        def watched_done(client: Any) -> Any:
            self.active.discard(id(client))
            return idle_done(client)

        monkeypatch.setattr(IMAPClient, "idle", watched_idle)
        monkeypatch.setattr(IMAPClient, "idle_done", watched_done)

    async def until_idling(self, connections: int = 1) -> None:
        async def idling() -> bool:
            return len(self.active) >= connections

        await until(idling)


@pytest.fixture
def idle_watch(monkeypatch: pytest.MonkeyPatch) -> IdleWatch:
    return IdleWatch(monkeypatch)


def make_config(channel_options: dict[str, Any], **sync: Any) -> config_module.Config:
    return config_module.parse(
        {
            "agent": {"name": "alice", "display_name": "Alice"},
            "sync": {"lease_seconds": 5, "retry_max_seconds": 1, **sync},
            "channels": {"mail": channel_options},
        },
        "test.toml",
    )


@pytest.fixture
async def runner_for(store: Store) -> AsyncIterator[Any]:
    made: list[SyncRunner] = []

    def make(channel_options: dict[str, Any]) -> SyncRunner:
        runner = SyncRunner(
            store, make_config(channel_options), plugin_classes={"email": EmailChannel}
        )
        made.append(runner)
        return runner

    try:
        yield make
    finally:
        for runner in made:
            await runner.stop()


async def message_ids(store: Store) -> list[str]:
    rows = await store.run_sync(
        lambda conn: conn.execute(
            "SELECT external_id FROM messages WHERE channel_id = (SELECT id FROM channels"
            " WHERE name = 'mail') AND external_id IS NOT NULL ORDER BY external_id"
        ).fetchall()
    )
    return [r[0] for r in rows]


async def until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def sync_until_clean(runner: SyncRunner, attempts: int = 20) -> list[str | None]:
    """Run the runner until a pass without error (what the fetch loop does with backoff)."""
    errors: list[str | None] = []
    for _ in range(attempts):
        result = (await runner.run_once())["mail"]
        errors.append(result)
        if result is None:
            return errors
    raise AssertionError(f"never synced cleanly: {errors}")


def sent_folder_ids(user: ImapUser) -> list[str]:
    client = user.client()
    try:
        client.select_folder("Sent", readonly=True)
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        return [
            message_from_bytes(v[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"])["Message-ID"]
            for v in fetched.values()
        ]
    finally:
        client.logout()


async def test_appended_mail_reaches_the_store_through_idle(
    imap_user: ImapUser, store: Store, runner_for: Any, idle_watch: IdleWatch
) -> None:
    imap_user.append(mail("Before start", message_id="<before@example.org>"))
    runner = runner_for(options(imap_user, poll_interval=600.0))
    await runner.start()
    await until(lambda: _has(store, "<before@example.org>"))
    await idle_watch.until_idling()
    started = time.monotonic()
    imap_user.append(mail("Pushed", message_id="<pushed@example.org>"))
    await until(lambda: _has(store, "<pushed@example.org>"), timeout=20)
    assert time.monotonic() - started < 10, "IDLE should deliver well before the 600 s poll"
    channels = {c.name: c for c in await store.channels()}
    assert channels["mail"].health == "connected"
    # Never marks read: the server still has both unseen.
    client = imap_user.client()
    try:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search("UNSEEN")) == 2
    finally:
        client.logout()


async def _has(store: Store, external_id: str) -> bool:
    return external_id in await message_ids(store)


async def test_a_queued_reply_is_sent_with_threading_headers_and_filed_in_sent(
    imap_user: ImapUser, smtp_server: SmtpServer, store: Store, runner_for: Any
) -> None:
    imap_user.append(mail("Router broken", message_id="<q1@example.org>"))
    runner = runner_for(options(imap_user, smtp_server))
    assert await runner.run_once() == {"mail": None}
    (row,) = await store.find(_all())
    await store.queue_reply(row.id, "Hello Ada,\n\nplease restart it.\n")
    assert await runner.run_once() == {"mail": None}
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["ada@example.org"] and received.mail_from == SUPPORT
    sent = message_from_bytes(received.data, policy=default)
    assert sent["To"] == "ada@example.org"
    assert sent["From"].addresses[0].addr_spec == SUPPORT
    assert sent["From"].addresses[0].display_name == f"alice via {SUPPORT}"
    assert sent["Subject"] == f"Re: Router broken [#{row.id}]"
    assert sent["In-Reply-To"] == "<q1@example.org>" and sent["References"] == "<q1@example.org>"
    assert sent["Date"]
    assert sent.get_content().replace("\r\n", "\n").strip() == "Hello Ada,\n\nplease restart it."
    assert sent_folder_ids(imap_user) == [sent["Message-ID"]]
    assert sent["Message-ID"] in await message_ids(store), "the outbox records the Message-ID"
    # The customer answers our reply: it threads into the same conversation by References,
    # and a later answer quoting only the subject token threads by the token.
    imap_user.append(
        mail(
            "Re: Router broken",
            message_id="<q2@example.org>",
            headers=f"In-Reply-To: {sent['Message-ID']}",
        )
    )
    imap_user.append(mail(f"Re: Router broken [#{row.id}]", message_id="<q3@example.org>"))
    imap_user.append(
        mail(
            f"Re: Router broken [#{row.id}]",
            message_id="<q4@example.org>",
            sender="Mallory <mallory@example.net>",
        )
    )
    assert await runner.run_once() == {"mail": None}
    conversations = await store.find(_all())
    detail = await store.conversation(row.id)
    assert {m.external_id for m in detail.messages} >= {
        "<q1@example.org>",
        "<q2@example.org>",
        "<q3@example.org>",
    }
    assert len(conversations) == 2, "a stranger quoting the token starts their own conversation"


def _all() -> Any:
    from agentconsole.query import parse

    return parse("status:any")


async def test_a_reply_from_the_cli_goes_out_through_sync(
    imap_user: ImapUser, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    imap_user.append(
        mail("Invoice wrong", message_id="<cli1@example.org>", sender="Bob <bob@example.org>")
    )
    config = tmp_path / "config.toml"
    table = options(imap_user, smtp_server)
    config.write_text(
        '[agent]\nname = "alice"\n\n[channels.mail]\n'
        + "".join(f"{k} = {_toml(v)}\n" for k, v in table.items())
    )
    store = tmp_path / "store.db"
    base = [
        sys.executable,
        "-m",
        "agentconsole.cli",
        "--config",
        str(config),
        "--store",
        str(store),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run = lambda *args, data=None: subprocess.run(  # noqa: E731
        [*base, *args], input=data, capture_output=True, text=True, timeout=90, env=env
    )
    synced = run("sync", "--once")
    assert synced.returncode == 0, synced.stderr
    listed = run("list", "--json")
    conversation = listed.stdout.splitlines()[0]
    conversation_id = int(conversation.split('"id": ')[1].split(",")[0])
    replied = run("reply", str(conversation_id), data="We fixed the invoice.\n")
    assert replied.returncode == 0, replied.stderr
    synced = run("sync", "--once")
    assert synced.returncode == 0, synced.stderr
    (received,) = smtp_server.wait_for(1)
    sent = message_from_bytes(received.data, policy=default)
    assert received.rcpt_tos == ["bob@example.org"]
    assert sent["In-Reply-To"] == "<cli1@example.org>"
    assert sent["Subject"] == f"Re: Invoice wrong [#{conversation_id}]"
    assert sent_folder_ids(imap_user) == [sent["Message-ID"]]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


async def test_a_crash_before_the_sent_copy_neither_resends_nor_loses_the_copy(
    imap_user: ImapUser, smtp_server: SmtpServer, store: Store, runner_for: Any
) -> None:
    imap_user.append(mail("Refund", message_id="<crash1@example.org>"))
    runner = runner_for(options(imap_user, smtp_server))
    assert await runner.run_once() == {"mail": None}
    (row,) = await store.find(_all())
    await store.queue_reply(row.id, "Your refund is on its way.")
    # The sender claims the reply, the SMTP server accepts it and the acceptance is
    # committed; then the process dies before filing the copy in Sent.
    (item,) = await store.claim_due_replies("mail")
    plugin = await runner.plugin("mail")
    from agentconsole.sync import outbound_message

    result = await plugin.send(outbound_message(item))
    await store.mark_sent(item.id, result.external_id, result.url, result.follow_up)
    assert len(smtp_server.wait_for(1)) == 1 and sent_folder_ids(imap_user) == []
    fresh = runner_for(options(imap_user, smtp_server))
    assert await fresh.run_once() == {"mail": None}
    assert sent_folder_ids(imap_user) == [result.external_id], "the copy is filed once"
    assert await fresh.run_once() == {"mail": None}
    assert sent_folder_ids(imap_user) == [result.external_id]
    assert len(smtp_server.messages) == 1, "recorded as sent: never sent again"


async def test_a_reply_that_never_reached_smtp_is_sent_once_on_retry(
    imap_user: ImapUser, smtp_server: SmtpServer, store: Store, runner_for: Any
) -> None:
    imap_user.append(mail("Crash early", message_id="<crash2@example.org>"))
    runner = runner_for(options(imap_user, smtp_server))
    assert await runner.run_once() == {"mail": None}
    (row,) = await store.find(_all())
    await store.queue_reply(row.id, "Sorry for the wait.")
    await store.claim_due_replies("mail")  # claimed, then the process died before SMTP
    await store.run_sync(lambda conn: conn.execute("UPDATE outbox SET next_attempt_at = 0"))
    assert await runner.run_once() == {"mail": None}
    # run_once returns once every due reply was sent and recorded: a second copy would be
    # at the server by now.
    assert len(smtp_server.wait_for(1)) == 1
    assert len(smtp_server.messages) == 1


async def test_smtp_refusals_are_permanent_or_temporary(
    imap_user: ImapUser, smtp_server: SmtpServer
) -> None:
    from tests.channels.email.test_options_and_replies import outbound

    plugin = channel(secret=lambda _: imap_user.password, **_plugin_options(imap_user, smtp_server))
    try:
        smtp_server.refuse_next("550 5.1.1 mailbox unavailable")
        with pytest.raises(PermanentError, match="550"):
            await plugin.send(outbound(idempotency_key="r1"))
        smtp_server.refuse_next("451 4.3.0 try again later")
        with pytest.raises(TemporaryError, match="451"):
            await plugin.send(outbound(idempotency_key="r2"))
    finally:
        await plugin.close()


def _plugin_options(user: ImapUser, smtp: SmtpServer | None = None, **extra: Any) -> dict[str, Any]:
    values = options(user, smtp, **extra)
    values.pop("type")
    values.pop("password_command")
    values["password_env"] = "UNUSED"  # the test passes its own secret resolver
    return values


async def test_a_rejected_login_is_permanent_and_says_what_to_fix(imap_user: ImapUser) -> None:
    plugin = channel(secret=lambda _: "wrong", **_plugin_options(imap_user))
    try:
        with pytest.raises(PermanentError) as error:
            await plugin.fetch(None)
    finally:
        await plugin.close()
    assert str(error.value) == (
        f"IMAP login to 127.0.0.1 as {imap_user.name} failed: authentication rejected — "
        "check password_command in [channels.support]"
    )


async def test_an_unreachable_server_is_temporary() -> None:
    from tests.integration.conftest import free_port

    plugin = channel(
        imap_host="127.0.0.1", imap_port=free_port(), imap_tls="none", password_env="X", timeout=3.0
    )
    try:
        with pytest.raises(TemporaryError, match="cannot reach IMAP server"):
            await plugin.fetch(None)
    finally:
        await plugin.close()


async def test_connection_dropped_mid_fetch_loses_and_duplicates_nothing(
    imap_user: ImapUser, store: Store, runner_for: Any, tcp_proxy: Any
) -> None:
    body = "Lorem ipsum dolor sit amet. " * 200  # ~6 kB each
    for number in range(80):  # one batch, parsed by the worker processes
        imap_user.append(mail(f"drop {number}", body, message_id=f"<drop{number}@example.org>"))
    proxy = tcp_proxy(imap_user.server.port)
    runner = runner_for(options(imap_user, imap_port=proxy.port))
    proxy.cut_after(250_000)  # in the middle of the FETCH response
    first = (await runner.run_once())["mail"]
    assert first is not None and "lost while fetching" in first
    assert proxy.cuts == 1
    await sync_until_clean(runner)
    ids = await message_ids(store)
    assert ids == sorted(f"<drop{n}@example.org>" for n in range(80))


async def test_dovecot_restarted_mid_sync_loses_and_duplicates_nothing(
    imap_user: ImapUser, store: Store, runner_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "BATCH", 10)
    for number in range(45):
        imap_user.append(mail(f"restart {number}", message_id=f"<restart{number}@example.org>"))
    runner = runner_for(options(imap_user))
    plugin = await runner.plugin("mail")
    first = await plugin.fetch(None)
    assert len(first.messages) == 10 and first.more
    await store.ingest("mail", first.messages, first.cursor)
    imap_user.server.restart()  # the read-ahead of the next batch dies with the server
    await sync_until_clean(runner)
    ids = await message_ids(store)
    assert ids == sorted(f"<restart{n}@example.org>" for n in range(45))


async def test_uidvalidity_change_resyncs_without_duplicates(
    imap_user: ImapUser, store: Store, runner_for: Any
) -> None:
    for number in range(5):
        imap_user.append(mail(f"valid {number}", message_id=f"<valid{number}@example.org>"))
    runner = runner_for(options(imap_user))
    assert await runner.run_once() == {"mail": None}
    before = await store.channel_cursor("mail")
    imap_user.server.doveadm(
        "mailbox", "update", "--uid-validity", "12345", "-u", imap_user.name, "INBOX"
    )
    imap_user.append(mail("after the change", message_id="<valid-new@example.org>"))
    assert await runner.run_once() == {"mail": None}
    after = await store.channel_cursor("mail")
    assert '"uidvalidity":12345' in after and before != after
    ids = await message_ids(store)
    assert ids == sorted(
        [*(f"<valid{n}@example.org>" for n in range(5)), "<valid-new@example.org>"]
    )


async def test_several_folders_and_mark_read_only_when_configured(
    imap_user: ImapUser, store: Store, runner_for: Any
) -> None:
    client = imap_user.client()
    client.create_folder("Support")
    client.logout()
    imap_user.append(mail("in inbox", message_id="<f1@example.org>"))
    imap_user.append(mail("in support", message_id="<f2@example.org>"), folder="Support")
    runner = runner_for(options(imap_user, folders=["INBOX", "Support"], mark_read=True))
    assert await runner.run_once() == {"mail": None}
    assert await message_ids(store) == ["<f1@example.org>", "<f2@example.org>"]
    assert await runner.run_once() == {"mail": None}  # the next fetch acknowledges the batch
    client = imap_user.client()
    try:
        for folder in ("INBOX", "Support"):
            client.select_folder(folder, readonly=True)
            assert client.search("UNSEEN") == [], f"{folder} should be marked read"
    finally:
        client.logout()


async def test_idle_is_renewed_and_still_reports_new_mail(
    imap_user: ImapUser, monkeypatch: pytest.MonkeyPatch, idle_watch: IdleWatch
) -> None:
    monkeypatch.setattr(imap, "IDLE_RENEW_SECONDS", 0.4)  # servers drop an IDLE after 30 min
    plugin = channel(secret=lambda _: imap_user.password, **_plugin_options(imap_user))
    try:
        await plugin.fetch(None)
        waiting = asyncio.create_task(plugin.wait_for_activity(30))

        async def renewed_twice() -> bool:
            return idle_watch.started >= 3

        await until(renewed_twice)
        assert not waiting.done(), "a renewal is not activity"
        started = time.monotonic()
        await asyncio.to_thread(imap_user.append, mail("During a renewed IDLE"))
        await asyncio.wait_for(waiting, 10)
        assert time.monotonic() - started < 5
        result = await plugin.fetch(None)
        assert [m.subject for m in result.messages] == ["During a renewed IDLE"]
    finally:
        await plugin.close()


async def test_without_idle_the_channel_polls(imap_user: ImapUser) -> None:
    plugin = channel(
        secret=lambda _: imap_user.password,
        **_plugin_options(imap_user, idle=False, poll_interval=0.3),
    )
    try:
        started = time.monotonic()
        await asyncio.wait_for(plugin.wait_for_activity(30), 5)
        assert 0.25 <= time.monotonic() - started < 2
    finally:
        await plugin.close()


async def test_move_to_moves_only_committed_mail(
    imap_user: ImapUser, store: Store, runner_for: Any
) -> None:
    client = imap_user.client()
    client.create_folder("Done")
    client.logout()
    imap_user.append(mail("move me", message_id="<mv1@example.org>"))
    runner = runner_for(options(imap_user, move_to="Done"))
    plugin = await runner.plugin("mail")
    first = await plugin.fetch(None)
    # Not committed yet: a fetch from the old cursor must not have moved anything.
    again = await plugin.fetch(None)
    assert [m.external_id for m in again.messages] == ["<mv1@example.org>"]
    await store.ingest("mail", first.messages, first.cursor)
    await plugin.fetch(first.cursor)  # proves the batch was committed
    client = imap_user.client()
    try:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
        assert client.select_folder("Done", readonly=True)[b"EXISTS"] == 1
    finally:
        client.logout()


async def test_mail_arriving_before_the_first_idle_is_not_left_waiting(
    imap_user: ImapUser,
) -> None:
    plugin = channel(secret=lambda _: imap_user.password, **_plugin_options(imap_user))
    try:
        await plugin.fetch(None)
        imap_user.append(mail("Between fetch and IDLE"))
        await asyncio.wait_for(plugin.wait_for_activity(60), 5)
    finally:
        await plugin.close()


async def test_batches_are_bounded_in_bytes(
    imap_user: ImapUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "BATCH_BYTES", 50_000)
    for number in range(10):
        imap_user.append(mail(f"big {number}", "x" * 12_000))
    sizes, subjects = await fetch_batches(
        channel(secret=lambda _: imap_user.password, **_plugin_options(imap_user))
    )
    assert max(sizes) <= 5 and len(subjects) == 10


async def test_a_backlog_with_wide_gaps_between_uids_is_read_whole_in_order(
    imap_user: ImapUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UIDs are searched in growing windows: gaps wider than a window (mail deleted on the
    server) neither stop the sync early nor repeat a message."""
    monkeypatch.setattr(imap, "BATCH", 3)
    for number in range(60):
        imap_user.append(mail(f"gap {number:02}"))
    kept = {0, 1, 40, 41, 42, 43, 44, 59}
    client = imap_user.client()
    try:
        client.select_folder("INBOX")
        client.delete_messages([n + 1 for n in range(60) if n not in kept])
        client.expunge()
    finally:
        client.logout()
    plugin = channel(secret=lambda _: imap_user.password, **_plugin_options(imap_user))
    sizes, subjects = await fetch_batches(plugin)
    assert subjects == {f"gap {n:02}" for n in kept}
    assert sum(sizes) == len(kept) and max(sizes) <= 3


async def test_every_folder_is_watched_with_idle(
    imap_user: ImapUser, store: Store, runner_for: Any, idle_watch: IdleWatch
) -> None:
    client = imap_user.client()
    try:
        client.create_folder("Escalations")
    finally:
        client.logout()
    runner = runner_for(options(imap_user, folders=["INBOX", "Escalations"], poll_interval=600.0))
    await runner.start()
    imap_user.append(mail("First", message_id="<first@example.org>"))
    await until(lambda: _has(store, "<first@example.org>"), timeout=20)
    await idle_watch.until_idling(connections=2)  # one IDLE per folder
    started = time.monotonic()
    imap_user.append(mail("Escalated", message_id="<esc@example.org>"), folder="Escalations")
    await until(lambda: _has(store, "<esc@example.org>"), timeout=20)
    assert time.monotonic() - started < 10, "IDLE on the second folder, not the 600 s poll"


async def test_a_mail_whose_charsets_make_lone_surrogates_is_stored_from_imap(
    store: Store, imap_user: ImapUser, runner_for: Any
) -> None:
    """UTF-7 (RFC 2152) can spell a lone surrogate, which neither store can encode: the
    mail is stored from a real Dovecot with U+FFFD and a note, its bytes kept, and the mail
    after it too."""
    imap_user.append(UTF7_MAIL)
    imap_user.append(mail("After it", message_id="<after-utf7@example.org>"))
    runner = runner_for(options(imap_user))
    await sync_until_clean(runner)
    assert await message_ids(store) == ["<after-utf7@example.org>", "<utf7-1@example.org>"]
    message_id, subject, note = await store.run_sync(
        lambda conn: conn.execute(
            "SELECT id, subject, parse_note FROM messages WHERE external_id = ?",
            ("<utf7-1@example.org>",),
        ).fetchone()
    )
    assert subject == "Invoice \ufffd" and "lone UTF-16 surrogates" in note
    raw = await store.raw_message(message_id)
    assert raw is not None and raw.replace(b"\r\n", b"\n") == UTF7_MAIL.replace(b"\r\n", b"\n")


async def test_batches_read_ahead_arrive_in_order_and_a_drop_among_them_loses_nothing(
    imap_user: ImapUser, store: Store, monkeypatch: pytest.MonkeyPatch, tcp_proxy: Any
) -> None:
    import agentconsole_email

    monkeypatch.setattr(imap, "BATCH", 10)
    body = "Lorem ipsum dolor sit amet. " * 100  # ~3 kB each: a batch is ~30 kB
    for number in range(60):
        imap_user.append(
            mail(f"ahead {number}", body, message_id=f"<ahead{number:02}@example.org>")
        )
    proxy = tcp_proxy(imap_user.server.port)
    plugin = channel(
        secret=lambda _: imap_user.password, **_plugin_options(imap_user, imap_port=proxy.port)
    )
    stored: list[str] = []
    try:
        first = await plugin.fetch(None)
        assert first.more and len(plugin._ahead) == agentconsole_email.READ_AHEAD
        await store.ingest("mail", first.messages, first.cursor)
        stored += [m.external_id for m in first.messages]
        # The connection drops while the batches ahead are on the wire.
        proxy.cut_after(40_000)
        cursor, errors = first.cursor, 0
        while True:
            try:
                result = await plugin.fetch(cursor)
            except TemporaryError:
                errors += 1
                assert errors < 10
                continue
            await store.ingest("mail", result.messages, result.cursor)
            stored += [m.external_id for m in result.messages]
            cursor = result.cursor
            if not result.more:
                break
    finally:
        await plugin.close()
    assert proxy.cuts == 1 and errors >= 1
    # Each message once, in the mailbox's order, and the cursor at the last one.
    assert stored == [f"<ahead{n:02}@example.org>" for n in range(60)]
    assert await message_ids(store) == stored
    assert await store.channel_cursor("mail") == cursor
    assert '"last_uid":60' in (cursor or "")
