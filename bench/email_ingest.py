#!/usr/bin/env python3
"""Email channel benchmark: parse + ingest throughput and initial IMAP sync time.

    python bench/email_ingest.py                  # 100,000-message Maildir, 10,000 over IMAP
    python bench/email_ingest.py --maildir-size 20000 --imap-size 5000   # quicker
    python bench/email_ingest.py --maildir-size 1000000   # does a message cost more at 1M?

Figures:
* maildir: the gen_corpus Maildir read by the email channel (files parsed on every core by
  the channel's worker processes while the store writes the previous batch) and stored
  through the whole ingest pipeline (dedupe, thread, contact, index, raw bytes), as the
  sync runner does it: msg/s, the store's CPU per message and how it grows from the first
  tenth of the run to the last (wall time on a shared machine measures the neighbours too),
  and peak resident memory (the main process, and the largest parse worker).
* imap: the gen_corpus Maildir served by a local Dovecot (started here, as in the tests),
  initial sync into an empty store: seconds from the first fetch to the last commit.

The corpus is generated once into bench/out/ (git-ignored) by the shared generator
gen_corpus.py, found by ``--generator PATH``, ``$AGENTCONSOLE_CORPUS_GENERATOR`` or in a
``shared/tools/`` folder above this repository (bench/corpus.py). This prints figures; it
never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus as corpora  # noqa: E402 - bench/ is on the path only now
from corpus import corpus  # noqa: E402
from store_cpu import STORE_CPU, time_store_writes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SUPPORT = "support@acme-support.example"


#: (messages stored so far, store CPU seconds so far) after each batch.
PROGRESS: list[tuple[int, float]] = []


async def drain(store, plugin, channel: str) -> int:  # noqa: ANN001
    """Fetch → ingest(+cursor) until the backlog is read, as the sync runner does."""
    cursor = await store.channel_cursor(channel)
    stored = 0
    while True:
        result = await plugin.fetch(cursor)
        report = await store.ingest(channel, result.messages, result.cursor)
        stored += report.stored
        PROGRESS.append((stored, STORE_CPU[0]))
        cursor = result.cursor
        if not result.more:
            return stored


def growth() -> float:
    """Store CPU per message in the last tenth of the run over the first tenth: 1.0 when
    a message costs the same in the full store as in a nearly empty one."""
    total = PROGRESS[-1][0] if PROGRESS else 0
    if total < 10:
        return float("nan")

    def cost(low: int, high: int) -> float:
        inside = [(n, cpu) for n, cpu in [(0, 0.0), *PROGRESS] if low <= n <= high]
        (n0, c0), (n1, c1) = inside[0], inside[-1]
        return (c1 - c0) / max(n1 - n0, 1)

    tenth = total // 10
    first = cost(0, tenth)  # 0 when one batch holds more than the first tenth
    return cost(total - tenth, total) / first if first else float("nan")


def fresh_store_path(name: str) -> Path:
    path = OUT / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def context(name: str, password: str = "", **options: object):  # noqa: ANN201
    from agentconsole.plugin import ChannelContext

    return ChannelContext(
        name,
        {"from_address": SUPPORT, **options},
        secret=lambda _: password,
        logger=logging.getLogger(name),
    )


async def maildir_phase(size: int) -> dict[str, float]:
    from agentconsole.store import connect
    from agentconsole_email import EmailChannel

    maildir = corpus(size)
    time_store_writes()
    store = await connect(fresh_store_path("email-maildir"), agent="bench")
    await store.ensure_channel("mail", "email", "email")
    plugin = EmailChannel(context("mail", maildir=str(maildir)))
    try:
        started = time.perf_counter()
        stored = await drain(store, plugin, "mail")
        seconds = time.perf_counter() - started
        workers = worker_peaks_mb(plugin)
        parse_cpu = worker_cpu_seconds(plugin)
    finally:
        await plugin.close()
        await store.close()
    return {
        "messages": stored,
        "seconds": seconds,
        "store_cpu_seconds": STORE_CPU[0],
        "store_growth": growth(),
        "process_cpu_seconds": cpu_seconds(),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_rss_mb": max(workers, default=0.0),
        "parse_cpu_seconds": parse_cpu,
        "load": os.getloadavg()[0],
    }


def cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children (the parse workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def worker_pids(plugin) -> list[int]:  # noqa: ANN001
    """The channel's parse worker processes (while the channel is open)."""
    pool = plugin._parser._pool  # noqa: SLF001 - a benchmark looking inside
    return list(pool._processes) if pool else []  # noqa: SLF001


def worker_cpu_seconds(plugin) -> float:  # noqa: ANN001
    """User + system CPU of the parse workers so far (start-up and IPC included): the
    parse half of the work, which RUSAGE_CHILDREN misses (the pool is not waited for)."""
    total = 0.0
    for pid in worker_pids(plugin):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def worker_peaks_mb(plugin) -> list[float]:  # noqa: ANN001
    """Peak resident memory (VmHWM) of the channel's parse worker processes."""
    peaks = []
    for pid in worker_pids(plugin):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


async def imap_phase(size: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from agentconsole.store import connect
    from agentconsole_email import EmailChannel
    from tests.integration.conftest import launch_dovecot

    maildir = corpus(size)
    server = launch_dovecot(users=1)
    try:
        user = "user1"
        home = server.root / "mail" / user / "Maildir"
        shutil.copytree(maildir, home)
        for path in [home, *home.rglob("*")]:
            os.chown(path, server.mail_uid, server.mail_gid)
        time_store_writes()
        store = await connect(fresh_store_path("email-imap"), agent="bench")
        await store.ensure_channel("mail", "email", "email")
        plugin = EmailChannel(
            context(
                "mail",
                password=server.users[user],
                imap_host="127.0.0.1",
                imap_port=server.port,
                imap_tls="none",
                username=user,
                password_command="x",
            )
        )
        try:
            started = time.perf_counter()
            stored = await drain(store, plugin, "mail")
            seconds = time.perf_counter() - started
        finally:
            await plugin.close()
            await store.close()
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
    return {
        "messages": stored,
        "seconds": seconds,
        "store_cpu_seconds": STORE_CPU[0],
        "process_cpu_seconds": cpu_seconds(),
    }


def run_phase(phase: str, size: int) -> dict[str, float]:
    """Each phase in its own process, so peak memory is that phase's alone."""
    result = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--size", str(size)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--maildir-size", type=int, default=100_000)
    parser.add_argument("--imap-size", type=int, default=10_000)
    parser.add_argument("--generator", type=Path, help=corpora.GENERATOR_HELP)
    parser.add_argument("--phase", choices=("maildir", "imap"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        work = maildir_phase if args.phase == "maildir" else imap_phase
        print(json.dumps(asyncio.run(work(args.size))))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"email channel benchmark ({os.cpu_count()} cores)")
    corpora.generator_option = args.generator
    try:
        corpus(args.maildir_size)
        corpus(args.imap_size)
    except corpora.ToolNotFound as error:
        sys.exit(f"email_ingest.py: {error}")
    maildir = run_phase("maildir", args.maildir_size)
    imap = run_phase("imap", args.imap_size)
    rows = [
        (
            f"maildir parse+ingest ({maildir['messages']:,.0f} msgs)",
            f"{maildir['messages'] / maildir['seconds']:,.0f} msg/s",
            "≥ 3,000 msg/s",
        ),
        (
            "  store CPU per message (writer thread, commit included)",
            f"{maildir['store_cpu_seconds'] / maildir['messages'] * 1e6:,.0f} µs",
            "",
        ),
        (
            "  parse workers' CPU per message (start-up and IPC included)",
            f"{maildir['parse_cpu_seconds'] / maildir['messages'] * 1e6:,.0f} µs",
            "",
        ),
        (
            "  … in the last tenth over the first tenth",
            f"{maildir['store_growth']:.2f}",
            "≤ 1.15",
        ),
        (
            "  peak RSS: main process / largest parse worker",
            f"{maildir['rss_mb']:.0f} / {maildir['worker_rss_mb']:.0f} MB",
            "≤ 300 MB",
        ),
        (
            f"imap initial sync ({imap['messages']:,.0f} msgs, local Dovecot)",
            f"{imap['seconds']:.1f} s",
            "10k ≤ 4 s, 100k ≤ 40 s",
        ),
    ]
    print()
    for name, value, target in rows:
        print(f"  {name:<52} {value:>16}   {target}")


if __name__ == "__main__":
    main()
