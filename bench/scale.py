#!/usr/bin/env python3
"""Scale benchmark: builds a large store through the ingest pipeline and prints a table.

    python bench/scale.py                       # 100,000 conversations, ~500,000 messages
    python bench/scale.py --conversations 20000 # quicker
    python bench/scale.py --reuse               # keep the store built by an earlier run

Figures:
* ingest: normalized messages/s through the whole pipeline (dedupe, thread, contact, index)
* search: the 50 most recent hits for a common, a medium and a rare word (median of runs)
* launch: process start to the first screen showing queue rows, the real TUI under a
  pseudo-terminal
* repaint: j and page down held (30 keys/s) to the *finished* repaint, with a live channel
  writing meanwhile (``bench/repaint.py``)
* memory: the TUI's peak resident set size after browsing, searching and opening
This is a benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repaint import TARGETS, PtyTerminal  # noqa: E402
from repaint import measure as measure_repaint  # noqa: E402
from synthetic import CHANNELS, COMMON, RARE, ingest_all  # noqa: E402

from agentconsole.store import connect  # noqa: E402

BATCH = 2000
ROWS = []


def report(name: str, value: str, target: str = "") -> None:
    ROWS.append((name, value, target))
    print(f"  {name:<56} {value:>16}   {target}", flush=True)


async def build(path: Path, conversations: int, per_conversation: float) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = await connect(path, agent="bench")
    for name, kind in CHANNELS:
        await store.ensure_channel(name, "bench", kind)
    total, ingest_seconds = await ingest_all(store, conversations, per_conversation, BATCH)
    counts = await store.view_counts()
    await store.close()
    report("store: conversations", f"{counts['open']:,}")
    report("store: messages", f"{total:,}")
    report(
        "ingest (dedupe+thread+contact+index)",
        f"{total / ingest_seconds:,.0f} msg/s",
        "≥ 5,000 msg/s",
    )


async def search(path: Path) -> None:
    store = await connect(path, agent="bench")
    for label, query in (
        ("common", COMMON),
        ("medium", "warehouse"),
        ("rare", RARE),
        ("two words", "refund invoice"),
        ("prefix", "subscr*"),
    ):
        timings = []
        for _ in range(21):
            started = time.perf_counter()
            hits = await store.search(query, limit=50)
            timings.append(time.perf_counter() - started)
        report(
            f"search 50 newest: {label} ({query!r}, {len(hits)} hits)",
            f"{statistics.median(timings) * 1000:.1f} ms",
            "≤ 25 ms",
        )
    await store.close()


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tui(path: Path) -> None:
    started = time.perf_counter()
    terminal = PtyTerminal(path, columns=160, lines=45)
    try:
        if not terminal.wait_for(b"Customer", timeout=30):
            report("launch to first screen", "never showed rows")
            return
        shown = time.perf_counter()
        report(
            "launch to first screen (real TUI, pty)",
            f"{(shown - started) * 1000:.0f} ms",
            "≤ 1,000 ms",
        )
        terminal.drain(0.5)
        # Browse, open, search (repaint() below times the keys): what the memory figure
        # covers.
        for key in ["j"] * 200 + ["pagedown"] * 30 + ["enter"]:
            terminal.press(key)
        terminal.drain(0.5)
        terminal.press("escape")
        terminal.drain(0.3)
        for key in ["/", *COMMON, "enter"]:
            terminal.press(key)
        terminal.drain(1.0)
        report(
            "TUI peak memory (after browsing + search)",
            f"{peak_memory_mb(terminal.pid):.0f} MB",
            "≤ 300 MB",
        )
    finally:
        terminal.close()
    repaint(path)


def repaint(path: Path) -> None:
    """Key → finished repaint, j and page down held, a live channel writing meanwhile (see
    ``bench/repaint.py``, which times the last byte of the repaint, not the first)."""
    for figures in measure_repaint(path):
        report(
            f"{figures.key} held → repaint done: p50 / p99 / max",
            f"{figures.p50:.1f} / {figures.p99:.1f} / {figures.max:.1f} ms",
            TARGETS[figures.key],
        )
        report(f"{figures.key} held: TUI CPU per key", f"{figures.cpu_per_key:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--per-conversation", type=float, default=5.5)
    parser.add_argument("--store", type=Path, default=Path("bench/out/scale.db"))
    parser.add_argument("--reuse", action="store_true", help="keep an existing store")
    args = parser.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    print(f"agentconsole scale benchmark — {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"  {'figure':<56} {'measured':>16}   target")
    if not (args.reuse and args.store.exists()):
        asyncio.run(build(args.store, args.conversations, args.per_conversation))
    asyncio.run(search(args.store))
    tui(args.store)


if __name__ == "__main__":
    main()
