"""Replies carry no control characters, through the real aiosmtpd server: a customer's
subject, Message-ID and name full of ESC, BEL and NUL come back clean, and an address that is
not an address is never a recipient (the reply is marked failed with the reason)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentconsole import config as config_module
from agentconsole.query import parse
from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_email import EmailChannel
from agentconsole_email.outgoing import is_sendable_address
from tests.channels.email.helpers import SUPPORT
from tests.integration.conftest import SmtpServer

pytestmark = pytest.mark.integration

HOSTILE = (
    b"From: =?utf-8?q?Eve=1B]0;pwned=07_Bad?= <eve@example.org>\r\n"
    b"To: support@acme.example\r\n"
    b'Cc: carol@example.org, "Mallory" <mal\x1b[2Jory@example.org>\r\n'
    b"Subject: =?utf-8?q?Invoice=1B[31m_red=07=00_now?=\r\n"
    b"Message-ID: <abc\x1b]52;c;Zm9v\x07@example.org>\r\n"
    b"References: <root@example.org> <bad\x07ref@example.org>\r\n"
    b"Date: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
    b"\r\nMy invoice is wrong.\r\n"
)


def drop(folder: Path, name: str, raw: bytes) -> None:
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "new" / name).write_bytes(raw)


@pytest.fixture
async def mail_runner(
    tmp_path: Path, store: Store, smtp_server: SmtpServer
) -> AsyncIterator[tuple[SyncRunner, Path]]:
    folder = tmp_path / "Maildir"
    drop(folder, "seed.eml", b"")
    (folder / "new" / "seed.eml").unlink()
    channel: dict[str, Any] = {
        "type": "email",
        "from_address": SUPPORT,
        "maildir": str(folder),
        "smtp_host": smtp_server.host,
        "smtp_port": smtp_server.port,
        "smtp_tls": "none",
    }
    data = {
        "agent": {"name": "alice"},
        "sync": {"lease_seconds": 5, "retry_max_seconds": 1},
        "channels": {"mail": channel},
    }
    runner = SyncRunner(
        store, config_module.parse(data, "test.toml"), plugin_classes={"email": EmailChannel}
    )
    try:
        yield runner, folder
    finally:
        await runner.stop()


async def reply_outcome(store: Store, timeout: float = 20.0) -> tuple[str, str | None]:
    async with asyncio.timeout(timeout):
        while True:
            rows = await store.run_sync(
                lambda c: c.execute("SELECT state, last_error FROM outbox").fetchall()
            )
            if rows and rows[0][0] in ("sent", "failed"):
                return rows[0][0], rows[0][1]
            await asyncio.sleep(0.05)


def header_block(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


async def test_headers_of_a_reply_to_a_hostile_mail_carry_no_control_characters(
    mail_runner: tuple[SyncRunner, Path], store: Store, smtp_server: SmtpServer
) -> None:
    runner, folder = mail_runner
    drop(folder, "hostile.eml", HOSTILE)
    assert (await runner.run_once())["mail"] is None
    (row,) = await store.find(parse("status:any"))
    await store.queue_reply(row.id, "Sorry about that, fixed.")
    await runner.start()
    assert await reply_outcome(store) == ("sent", None)
    (received,) = await asyncio.to_thread(smtp_server.wait_for, 1)
    headers = header_block(received.data)
    assert not any(byte < 0x20 and byte not in b"\t\r\n" for byte in headers), headers
    assert b"\x7f" not in headers
    text = headers.decode("ascii")
    assert "Subject: Re: Invoice[31m red now" in text
    # The customer's Message-ID held controls: it is left out (of In-Reply-To and
    # References), not rewritten into the id of another message.
    assert "In-Reply-To" not in text and "abc" not in text
    assert "pwned" not in text  # the customer's name is not ours to send
    assert "carol@example.org" in received.rcpt_tos and "eve@example.org" in received.rcpt_tos
    assert all(is_sendable_address(address) for address in received.rcpt_tos)


async def test_a_sender_address_with_control_characters_fails_the_reply_with_the_reason(
    mail_runner: tuple[SyncRunner, Path], store: Store, smtp_server: SmtpServer
) -> None:
    runner, folder = mail_runner
    raw = HOSTILE.replace(b"<eve@example.org>", b"eve\x1b@example.org")
    raw = raw.replace(b"Cc: carol@example.org, ", b"Cc: ")
    drop(folder, "hostile.eml", raw)
    assert (await runner.run_once())["mail"] is None
    (row,) = await store.find(parse("status:any"))
    await store.queue_reply(row.id, "Sorry about that, fixed.")
    await runner.start()
    state, reason = await reply_outcome(store)
    assert state == "failed"
    assert reason is not None and "is not a valid email address" in reason
    assert "\x1b" not in reason and "the reply was not sent" in reason
    assert smtp_server.messages == []
