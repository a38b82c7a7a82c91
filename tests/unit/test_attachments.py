"""Attachment names from messages never choose a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentconsole.attachments import save, suggested_name
from agentconsole.errors import ConflictError, UsageError


@pytest.mark.parametrize(
    "given, expected",
    [
        ("invoice.pdf", "invoice.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/etc/cron.d/evil", "evil"),
        ("C:\\Windows\\system32\\x.dll", "x.dll"),
        ("..", "attachment"),
        (".bashrc", "bashrc"),
        ("report\x1b]0;pwned\x07.txt", "report_]0;pwned_.txt"),
        ("evil\u202egpj.exe", "evil_gpj.exe"),
        ("CON", "_CON"),
        ("", "attachment"),
    ],
)
def test_suggested_names_are_plain_base_names(given: str, expected: str) -> None:
    assert suggested_name(given) == expected


def test_long_names_keep_their_extension() -> None:
    name = suggested_name("a" * 500 + ".pdf")
    assert len(name) <= 120 and name.endswith(".pdf")


def test_save_never_overwrites_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "x.pdf"
    assert save(b"one", target) == target
    with pytest.raises(ConflictError, match="already exists"):
        save(b"two", target)
    assert target.read_bytes() == b"one"
    save(b"two", target, overwrite=True)
    assert target.read_bytes() == b"two"
    with pytest.raises(UsageError, match="does not exist"):
        save(b"x", tmp_path / "missing" / "x.pdf")


async def test_a_large_original_is_kept_byte_for_byte(store) -> None:  # type: ignore[no-untyped-def]
    """Originals past a megabyte are written in slices: what comes back is the same."""
    import random

    from tests.conftest import inbound as make

    raw = random.Random(7).randbytes(3 * 1024 * 1024 + 17)
    report = await store.ingest("mail", [make("see the capture", raw=raw)])
    (message,) = (await store.conversation(report.created[0])).messages
    assert await store.raw_message(message.id) == raw
