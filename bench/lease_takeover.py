#!/usr/bin/env python3
"""Crash recovery benchmark: kill -9 of ``agentconsole sync``, then the next process.

    python bench/lease_takeover.py              # 5 rounds
    python bench/lease_takeover.py --rounds 10

Each round, as a systemd ``Restart=on-failure`` service would live it: a real
``agentconsole sync`` runs a Maildir channel that replies over SMTP (a local aiosmtpd,
started here); it is killed with SIGKILL; 10 replies are queued; a new ``agentconsole
sync`` starts at once. Figures, in seconds from the kill:

* lease: until the new process holds the channel (its pid in the lease row);
* replies: until the SMTP server received all 10 queued replies;
* --once: ``agentconsole sync --once`` started right after a kill instead (exit code and
  how long it took, start-up of the interpreter included).

Before leases recorded the owner's process, the new process waited for the lease to expire
(``lease_seconds``, 30 s by default) and the claimed replies for their claim (120 s), and
``sync --once`` exited 1. This prints figures; it never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SUPPORT = "support@acme-support.example"
REPLIES = 10


class Recorder:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.count += 1
        return "250 accepted"

    def reached(self, count: int) -> Callable[[], bool]:
        return lambda: self.count >= count


def wait_until(condition: Callable[[], bool], timeout: float = 300.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"gave up after {timeout:.0f} s")
        time.sleep(0.005)
    return time.monotonic()


def held_by(store: Path, pid: int) -> Callable[[], bool]:
    return lambda: lease_pid(store) == pid


def lease_pid(store: Path) -> int | None:
    try:
        with contextlib.closing(sqlite3.connect(store, timeout=30)) as conn:
            row = conn.execute("SELECT lease_pid FROM channels WHERE name = 'mail'").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


async def queue_replies(store_path: Path, count: int) -> None:
    from agentconsole.models import ListFilter
    from agentconsole.store import connect

    store = await connect(store_path, agent="bench")
    try:
        (row, *_) = await store.list_conversations(ListFilter(status="any"))
        for number in range(count):
            await store.queue_reply(row.id, f"Reply {number} after the crash.")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    with tempfile.TemporaryDirectory(prefix="agentconsole-bench-") as folder_name:
        folder = Path(folder_name)
        maildir = folder / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True)
        (maildir / "new" / "1.eml").write_bytes(
            b"From: Ada <ada@example.org>\r\nTo: " + SUPPORT.encode() + b"\r\n"
            b"Subject: Help\r\nMessage-ID: <help@example.org>\r\n"
            b"Date: Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\nPlease help.\r\n"
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(recorder, hostname="127.0.0.1", port=port)
        controller.start()
        config = folder / "config.toml"
        config.write_text(
            '[agent]\nname = "bench"\n\n[sync]\nlease_seconds = 30\n\n[channels.mail]\n'
            f'type = "email"\nfrom_address = "{SUPPORT}"\nmaildir = "{maildir}"\n'
            f'smtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_tls = "none"\n'
        )
        store = folder / "store.db"
        command = [sys.executable, "-m", "agentconsole.cli", "--config", str(config)]
        command += ["--store", str(store)]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run([*command, "sync", "--once"], check=True, **quiet)  # type: ignore[call-overload]

        lease_times: list[float] = []
        reply_times: list[float] = []
        print(f"{'round':>5}  {'kill → lease':>12}  {'kill → 10 replies out':>21}")
        running = subprocess.Popen([*command, "sync"], **quiet)  # type: ignore[call-overload]
        for number in range(1, args.rounds + 1):
            wait_until(held_by(store, running.pid))
            killed = time.monotonic()
            running.send_signal(signal.SIGKILL)
            running.wait()
            before = recorder.count
            running = subprocess.Popen([*command, "sync"], **quiet)  # type: ignore[call-overload]
            asyncio.run(queue_replies(store, REPLIES))
            leased = wait_until(held_by(store, running.pid)) - killed
            sent = wait_until(recorder.reached(before + REPLIES)) - killed
            lease_times.append(leased)
            reply_times.append(sent)
            print(f"{number:>5}  {leased:>11.2f}s  {sent:>20.2f}s")
        print(
            f"{'median':>5}  {statistics.median(lease_times):>11.2f}s  "
            f"{statistics.median(reply_times):>20.2f}s"
        )
        wait_until(held_by(store, running.pid))
        running.send_signal(signal.SIGKILL)
        running.wait()
        started = time.monotonic()
        once = subprocess.run([*command, "sync", "--once"], **quiet)  # type: ignore[call-overload]
        print(
            f"sync --once right after kill -9: exit {once.returncode} in "
            f"{time.monotonic() - started:.2f}s (interpreter start-up included)"
        )
        started = time.monotonic()
        subprocess.run([*command, "--version"], check=True, **quiet)  # type: ignore[call-overload]
        print(f"for scale, `agentconsole --version` takes {time.monotonic() - started:.2f}s")
        controller.stop()


if __name__ == "__main__":
    main()
