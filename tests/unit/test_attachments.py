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
