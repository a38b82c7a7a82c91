#!/usr/bin/env python3
"""Peak memory of ingesting one mail with a large attachment, through the email channel.

    python bench/attachment_memory.py              # a 20 MB attachment
    python bench/attachment_memory.py --mb 5 --mb 20 --mb 40

For each size a message is generated (a short text part and a base64 attachment of
deterministic bytes) and ingested into a fresh store in a child process, whose peak resident
memory (``ru_maxrss`` of that child, from ``wait4``) is reported. On Linux a child's
``ru_maxrss`` includes what its parent had resident when it was forked, so this process
never holds a large message itself: generating the message and checking the stored
attachment run in helper processes of their own (``--make``, ``--check``).

* deliver: ``agentconsole deliver`` reading the message on standard input;
* maildir: ``agentconsole sync --once`` reading it from a Maildir;
* baseline: ``agentconsole deliver`` of a small message (the interpreter, the imports and
  the store), to tell the cost of the attachment from the cost of starting up.

Each run also checks that the attachment came out of the store byte for byte. This prints
figures; it never fails on them.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUPPORT = "support@acme.example"


def attachment_bytes(size: int) -> bytes:
    """``size`` deterministic bytes that look random (the same on every run)."""
    return random.Random(20261201).randbytes(size)


def message(data: bytes, name: str = "capture.bin") -> bytes:
    encoded = base64.encodebytes(data)  # 76-character lines, as mailers write them
    head = (
        f"From: Ada Lovelace <ada@example.org>\r\nTo: Acme Support <{SUPPORT}>\r\n"
        "Subject: the capture you asked for\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n"
        f"Message-ID: <capture-{len(data)}@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="bench-boundary"\r\n\r\n'
        "--bench-boundary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Here is the packet capture of the router.\r\n"
        "--bench-boundary\r\nContent-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'
    ).encode()
    return head + encoded.replace(b"\n", b"\r\n") + b"--bench-boundary--\r\n"


def write_config(folder: Path, maildir: Path) -> Path:
    (folder / "config.toml").write_text(
        '[agent]\nname = "bench"\n\n[channels.support]\ntype = "email"\n'
        f'from_address = "{SUPPORT}"\nmaildir = "{maildir}"\n'
    )
    return folder / "config.toml"


def run_measured(command: list[str], stdin: Path | None) -> tuple[int, float, float]:
    """(exit status, peak RSS in MB, seconds) of ``command`` run as a child process."""
    started = time.perf_counter()
    with open(stdin or os.devnull, "rb") as source:
        child = subprocess.Popen(
            command, stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 and child.stderr is not None:
        sys.stderr.write(child.stderr.read().decode(errors="replace"))
    return child.returncode, usage.ru_maxrss / 1024, seconds


def stored_attachment(store: Path) -> bytes | None:
    with sqlite3.connect(store) as conn:
        row = conn.execute(
            "SELECT b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256"
            " ORDER BY a.size DESC LIMIT 1"
        ).fetchone()
    return bytes(row[0]) if row else None


def make(path: Path, size_mb: float) -> None:
    """Write the generated message for ``size_mb`` to ``path`` (``--make``)."""
    path.write_bytes(message(attachment_bytes(int(size_mb * 1024 * 1024))))


def check(store: Path, size_mb: float) -> bool:
    """Whether the store holds the generated attachment byte for byte (``--check``)."""
    data = attachment_bytes(int(size_mb * 1024 * 1024))
    return not data or stored_attachment(store) == data


def helper(*args: str) -> int:
    """Run this script as a helper process (so its memory is never this process's)."""
    return subprocess.run([sys.executable, __file__, *args], check=False).returncode


def measure(path: str, size_mb: float) -> tuple[int, float, float, str]:
    """Ingest one generated message by ``path``; (message bytes, MB, seconds, check)."""
    with tempfile.TemporaryDirectory(prefix="attachment-memory-") as temporary:
        folder = Path(temporary)
        maildir = folder / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True)
        config = write_config(folder, maildir)
        store = folder / "store.db"
        base = [sys.executable, "-m", "agentconsole.cli", "--config", str(config)]
        base += ["--store", str(store)]
        source = folder / "message.eml"
        helper("--make", str(source), "--mb", str(size_mb))
        size = source.stat().st_size
        if path == "maildir":
            os.rename(source, maildir / "new" / "1.bench")
            status, peak, seconds = run_measured([*base, "sync", "--once"], None)
        else:
            status, peak, seconds = run_measured([*base, "deliver", "--channel", "support"], source)
        if status != 0:
            return size, peak, seconds, f"exit {status}"
        same = helper("--check", str(store), "--mb", str(size_mb)) == 0
    return size, peak, seconds, "ok" if same else "ATTACHMENT DIFFERS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--mb", type=float, action="append", help="attachment size in MB (repeatable)"
    )
    parser.add_argument("--runs", type=int, default=1, help="measure each path this often")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.mb or [20.0]
    if args.make is not None:
        make(args.make, sizes[0])
        return
    if args.check is not None:
        raise SystemExit(0 if check(args.check, sizes[0]) else 1)
    print(f"attachment ingest memory ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    print(f"{'path':<9} {'attachment':>10} {'message':>10} {'peak RSS':>9} {'time':>7}  check")
    rows = [("deliver", 0.0)] + [(path, mb) for mb in sizes for path in ("deliver", "maildir")]
    for path, mb in rows:
        peaks: list[float] = []
        for _ in range(args.runs):
            size, peak, seconds, result = measure(path, mb)
            peaks.append(peak)
            label = "baseline" if mb == 0 else path
            print(
                f"{label:<9} {mb:>8.1f}MB {size / 2**20:>8.1f}MB {peak:>7.1f}MB {seconds:>6.2f}s"
                f"  {result}"
            )
        if args.runs > 1:
            print(
                f"{'':<9} {'':>10} {'':>10} median {statistics.median(peaks):.1f}MB,"
                f" {min(peaks):.1f}–{max(peaks):.1f}MB over {args.runs} runs"
            )


if __name__ == "__main__":
    main()
