"""Builders shared by the email channel's unit and integration tests."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from agentconsole.plugin import ChannelContext
from agentconsole_email import EmailChannel

SUPPORT = "support@acme.example"


def mail(
    subject: str = "My router is broken",
    body: str = "It blinks orange since the update.",
    *,
    sender: str = "Ada Lovelace <ada@example.org>",
    message_id: str | None = None,
    headers: str = "",
    date: datetime | None = None,
) -> bytes:
    """A small RFC 5322 message with CRLF line ends."""
    message_id = message_id or make_msgid(domain="example.org")
    lines = [
        f"From: {sender}",
        f"To: Acme Support <{SUPPORT}>",
        f"Subject: {subject}",
        f"Date: {format_datetime(date or datetime(2026, 11, 20, 9, 0, tzinfo=UTC))}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if headers:
        lines += headers.strip().splitlines()
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


def make_maildir(root: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


_counter = iter(range(10**9))


def deliver_to_maildir(root: Path, raw: bytes, *, seen: bool = False) -> Path:
    """Deliver like an MDA: write in tmp/, then rename into new/ (or cur/ with flags)."""
    name = f"{datetime.now(UTC).timestamp():.6f}.M{next(_counter)}P{os.getpid()}.test"
    temporary = root / "tmp" / name
    temporary.write_bytes(raw)
    final = root / "cur" / f"{name}:2,S" if seen else root / "new" / name
    os.rename(temporary, final)
    return final


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of a Maildir with its modification time and content."""
    return {
        str(path.relative_to(root)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def channel(
    secret: Callable[[str], str] | None = None, name: str = "support", **options: Any
) -> EmailChannel:
    options.setdefault("from_address", SUPPORT)
    context = ChannelContext(
        name=name,
        options=options,
        secret=secret or (lambda key: "secret"),
        logger=logging.getLogger(f"test.{name}"),
    )
    return EmailChannel(context)


async def fetch_batches(plugin: Any) -> tuple[list[int], set[str]]:
    """Fetch from the start until the channel has nothing more: (batch sizes, subjects)."""
    sizes: list[int] = []
    subjects: set[str] = set()
    cursor = None
    try:
        while True:
            result = await plugin.fetch(cursor)
            sizes.append(len(result.messages))
            subjects |= {m.subject for m in result.messages}
            cursor = result.cursor
            if not result.more:
                return sizes, subjects
    finally:
        await plugin.close()


# A mail whose declared charsets (UTF-7, RFC 2152) make lone surrogates, in the subject and
# the body, and a file name in raw UTF-8 (carried as surrogate escapes by the part headers).
UTF7_MAIL = (
    b"From: Ada <ada@example.org>\r\n"
    b"To: Support <support@acme.example>\r\n"
    b"Subject: =?utf-7?q?Invoice_+2AA-?=\r\n"
    b"Message-ID: <utf7-1@example.org>\r\n"
    b"Date: Fri, 20 Nov 2026 09:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-7\r\n"
    b"\r\n"
    b"Please refund +2AA- order 12.\r\n"
    b"--b1\r\n"
    b"Content-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="r\xc3\xa9sum\xc3\xa9.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--b1--\r\n"
)
