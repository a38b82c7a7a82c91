"""``agentconsole deliver``: a mail pipe (Postfix, procmail, Sieve) into the store."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from .helpers import SUPPORT, channel, mail, make_maildir

CORPUS = Path(__file__).parent / "corpus"


def write_config(tmp_path: Path, channel_table: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[agent]\nname = "alice"\n\n[channels.support]\ntype = "email"\n{channel_table}'
    )
    return path


def deliver(config: Path, store: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "agentconsole.cli",
            "--config",
            str(config),
            "--store",
            str(store),
            "deliver",
            "--channel",
            "support",
        ],
        input=data,
        capture_output=True,
        timeout=60,
    )


def stored(store: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT external_id, parse_note FROM messages ORDER BY id").fetchall()


def test_deliver_commits_then_exits_zero_and_is_idempotent(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    config = write_config(tmp_path, f'from_address = "{SUPPORT}"\nmaildir = "{root}"\n')
    store = tmp_path / "store.db"
    raw = mail("Piped in", message_id="<piped@example.org>")
    first = deliver(config, store, raw)
    assert first.returncode == 0, first.stderr
    assert stored(store) == [("<piped@example.org>", None)]
    second = deliver(config, store, raw)
    assert second.returncode == 0 and b"already stored" in second.stdout
    assert len(stored(store)) == 1
    garbage = deliver(config, store, (CORPUS / "garbage.eml").read_bytes())
    assert garbage.returncode == 0, garbage.stderr
    assert "no mail headers" in (stored(store)[-1][1] or "")


def test_deliver_works_for_an_imap_channel_without_connecting(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f'from_address = "{SUPPORT}"\nimap_host = "imap.invalid"\npassword_command = "false"\n',
    )
    store = tmp_path / "store.db"
    result = deliver(config, store, mail("Via the pipe", message_id="<pipe2@example.org>"))
    assert result.returncode == 0, result.stderr
    assert stored(store)[0][0] == "<pipe2@example.org>"


def test_deliver_fails_without_storing_when_the_channel_is_misconfigured(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'from_address = "{SUPPORT}"\n')  # neither IMAP nor Maildir
    store = tmp_path / "store.db"
    result = deliver(config, store, mail())
    assert result.returncode != 0
    assert b"needs either imap_host" in result.stderr
    if store.exists():
        assert stored(store) == []


async def test_parse_delivery_never_raises() -> None:
    plugin = channel(maildir="/nonexistent")
    try:
        for path in sorted(CORPUS.glob("*.eml")):
            message = await asyncio.wait_for(plugin.parse_delivery(path.read_bytes()), 10)
            assert message.raw == path.read_bytes()
    finally:
        await plugin.close()
