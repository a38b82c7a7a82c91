"""The real app under a pseudo-terminal: what reaches the terminal is checked byte by byte."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from .seed import HOSTILE, message, open_store

COLUMNS, ROWS = 120, 40


def run_in_pty(
    argv: list[str], env: dict[str, str], steps: list[tuple[float, bytes]], timeout: float = 20
) -> tuple[bytes, int]:
    """Run ``argv`` on a pty of a fixed size; at each (seconds, bytes) step type the bytes.
    Returns everything the program wrote and its exit status."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the app
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        os.execvpe(argv[0], argv, env)
    output = bytearray()
    started = time.monotonic()
    pending = list(steps)
    status = None
    try:
        while time.monotonic() - started < timeout:
            if pending and time.monotonic() - started >= pending[0][0]:
                os.write(fd, pending.pop(0)[1])
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                output += chunk
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            status = None
    finally:
        if status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            status = -1 if status else status
        os.close(fd)
    return bytes(output), status if status is not None else -1


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "alice"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        AGENTCONSOLE_CONFIG=str(config),
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        COLUMNS=str(COLUMNS),
        LINES=str(ROWS),
    )
    env.update(extra)
    return env


async def seed(path: Path) -> int:
    store = await open_store(path)
    # The attacks come first in the name and the subject so the narrow queue columns
    # show them too (not only the header and the thread).
    report = await store.ingest(
        "support",
        [
            message(
                "evil-1",
                HOSTILE,
                subject="\x1b]52;c;SGVsbG8=\x07\x9b31m " + HOSTILE,
                name="\x1b]0;pwned\x07 Mallory [bold]x[/bold]",
                address="evil@example.com",
                hours_ago=2,
            )
        ],
    )
    await store.close()
    return report.created[0]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a Unix pty")
def test_hostile_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    store_path = tmp_path / "store.db"
    asyncio.run(seed(store_path))
    argv = [sys.executable, "-m", "agentconsole.tui", str(store_path)]
    output, status = run_in_pty(argv, app_env(tmp_path), [(4.0, b"r"), (5.5, b"\x1b"), (6.5, b"q")])
    text = output.decode("utf-8", errors="replace")
    assert status == 0, text[-2000:]
    # the attacks: a clipboard write (OSC 52), a title change (OSC 0), C1 CSI
    assert b"\x1b]52" not in output
    assert b"\x1b]0;pwned" not in output
    assert "\x9b" not in text and b"\xc2\x9b" not in output
    assert b"\x1b[2J" not in output.split(b"\x1b[?1049h", 1)[-1].split(b"\x1b[?1049l")[0]
    # ... shown as visible stand-ins instead, with the markup literal
    assert "␛]52;c;SGVsbG8=␇" in text
    assert "␛]0;pwned␇" in text
    assert "[bold]x[/bold]" in text
    assert "[@click=app.quit]q" in text


@pytest.mark.skipif(sys.platform == "win32", reason="needs a Unix pty")
def test_reply_in_editor_gets_a_sanitized_quote_and_comes_back(tmp_path: Path) -> None:
    store_path = tmp_path / "store.db"
    conversation_id = asyncio.run(seed(store_path))
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(
        f'#!/bin/sh\ncp "$1" "{seen}"\nprintf "Sorted it out for you." > "$1.new"\n'
        f'cat "$1" >> "$1.new"\nmv "$1.new" "$1"\n',
        encoding="utf-8",
    )
    editor.chmod(0o755)
    argv = [sys.executable, "-m", "agentconsole.tui", str(store_path)]
    output, status = run_in_pty(
        argv,
        app_env(tmp_path, EDITOR=str(editor), VISUAL=""),
        [(4.0, b"e"), (6.0, b"\x13"), (8.0, b"q")],
    )
    assert status == 0, output.decode("utf-8", "replace")[-2000:]
    quoted = seen.read_text(encoding="utf-8")
    assert "> [bold]x[/bold]" in quoted
    assert "\x1b" not in quoted and "\x9b" not in quoted and "\x07" not in quoted

    async def last_message() -> tuple[str, str | None]:
        from agentconsole.store import connect

        store = await connect(store_path, agent="alice")
        try:
            detail = await store.conversation(conversation_id)
        finally:
            await store.close()
        return detail.messages[-1].body, detail.messages[-1].state

    body, state = asyncio.run(last_message())
    assert body.startswith("Sorted it out for you.")
    assert "> [bold]x[/bold]" in body
    assert state == "queued"
