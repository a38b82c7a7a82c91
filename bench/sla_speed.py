#!/usr/bin/env python3
"""SLA benchmark: recomputing the due times of 100,000 open conversations, and what keeping
them costs each write.

    python bench/sla_speed.py                          # 100,000 open conversations
    python bench/sla_speed.py --conversations 20000    # quicker
    python bench/sla_speed.py --reuse                  # keep the store of an earlier run

Builds a store of open conversations (one customer message each, from ``synthetic.py``)
with a spread of priorities, tags and pending ones, then times, with three policies (an
urgent one around the clock, a tag one and a default, both in business hours over a week
with holidays):

- the full recompute :meth:`Store.use_sla` runs when the policies change: choosing each
  conversation's policy (one compiled query per policy and chunk), computing its due time
  and writing what changed (target ≤ 5 s for 100,000);
- the same again with other targets (every row rewritten);
- one write (a priority change) with and without policies: the recompute that follows it;
- ingest of 10,000 messages in batches of 200 with and without policies;
- the "All open" view in the urgent order (the whole index and its top 50) with breaching
  conversations first, against the plain order (no due time stored).

This is a benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import CHANNELS, messages  # noqa: E402

from agentconsole.models import View  # noqa: E402
from agentconsole.sla import SlaSettings, settings_from_config  # noqa: E402
from agentconsole.store import connect  # noqa: E402

BATCH = 500
HOURS = {
    "timezone": "Europe/Warsaw",
    "week": {day: "08:00-18:00" for day in ("mon", "tue", "wed", "thu")} | {"fri": "08:00-16:00"},
    "holidays": ["2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01"],
}


def policies(scale: float = 1.0) -> SlaSettings:
    def hours(value: float) -> str:
        return f"{round(value * scale * 60)}m"

    return settings_from_config(
        [
            {"name": "urgent", "if": "priority:urgent", "first_response": hours(1),
             "resolution": hours(8), "business_hours": False},
            {"name": "vip", "if": "tag:vip", "first_response": hours(2), "next_response": hours(2)},
            {"name": "standard", "first_response": hours(4), "next_response": hours(8),
             "resolution": hours(40)},
        ],
        HOURS,
        "bench.toml",
    )  # fmt: skip


async def build(path: Path, conversations: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = await connect(path, agent="bench")
    for name, kind in CHANNELS:
        await store.ensure_channel(name, "bench", kind)
    stream = messages(conversations, 1)
    started = time.perf_counter()
    while True:
        chunk: dict[str, list[Any]] = {}
        for channel, message in itertools.islice(stream, BATCH):
            chunk.setdefault(channel, []).append(message)
        if not chunk:
            break
        for channel, batch in chunk.items():
            await store.ingest(channel, batch, None, update_cursor=False)

    def spread(conn: Any) -> int:
        # A working day's spread: 2% urgent, 10% high, 8% tagged vip, 10% pending (paused).
        with conn.transaction():
            conn.execute("UPDATE conversations SET priority = 0 WHERE id % 50 = 0")
            conn.execute("UPDATE conversations SET priority = 1 WHERE id % 10 = 1")
            conn.execute(
                "INSERT INTO conversation_tags(conversation_id, tag)"
                " SELECT id, 'vip' FROM conversations WHERE id % 12 = 3"
            )
            conn.execute("UPDATE conversations SET status = 'pending' WHERE id % 10 = 7")
        sql = "SELECT count(*) FROM conversations WHERE status != 'closed'"
        return int(conn.execute(sql).fetchone()[0])

    open_count = await store.run_sync(spread)
    await store.close()
    print(f"  built {open_count:,} open conversations in {time.perf_counter() - started:.0f} s")


async def timed_recompute(path: Path, settings: SlaSettings | None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, rows changed) of :meth:`Store.use_sla`:
    on a shared machine the CPU time says what it takes on an idle core."""
    store = await connect(path, agent="bench")
    try:
        started, cpu = time.perf_counter(), time.process_time()
        changed = await store.use_sla(settings)
        return time.perf_counter() - started, time.process_time() - cpu, changed
    finally:
        await store.close()


async def one_write(path: Path, settings: SlaSettings | None, runs: int = 201) -> float:
    """Median milliseconds of one priority change (and, with policies, its recompute)."""
    store = await connect(path, agent="bench")
    try:
        await store.use_sla(settings)
        timings = []
        for run in range(runs):
            started = time.perf_counter()
            await store.set_priority(1000 + run, run % 4)
            timings.append(time.perf_counter() - started)
        return statistics.median(timings) * 1000
    finally:
        await store.close()


async def ingest_rate(path: Path, settings: SlaSettings | None, count: int = 10_000) -> float:
    """Messages a second ingesting ``count`` new conversations in batches of 200."""
    store = await connect(path, agent="bench")
    try:
        await store.use_sla(settings)
        prefix = "sla" if settings else "plain"
        stream = (
            (
                channel,
                dataclasses.replace(
                    message,
                    external_id=f"{prefix}{message.external_id}",
                    thread_key=message.thread_key and f"{prefix}{message.thread_key}",
                    references=tuple(f"{prefix}{r}" for r in message.references),
                ),
            )
            for channel, message in messages(count, 1)
        )
        started = time.perf_counter()
        while True:
            chunk: dict[str, list[Any]] = {}
            for channel, message in itertools.islice(stream, 200):
                chunk.setdefault(channel, []).append(message)
            if not chunk:
                break
            for channel, batch in chunk.items():
                await store.ingest(channel, batch, None, update_cursor=False)
        return count / (time.perf_counter() - started)
    finally:
        await store.close()


async def view_order(
    path: Path, settings: SlaSettings | None, runs: int = 7
) -> tuple[float, float]:
    """Median milliseconds of the All open view's whole id index and of its top 50."""
    store = await connect(path, agent="bench")
    try:
        await store.use_sla(settings)
        whole, top = [], []
        for _ in range(runs):
            started = time.perf_counter()
            await store.conversation_ids(View("open"))
            whole.append(time.perf_counter() - started)
            started = time.perf_counter()
            await store.conversation_ids(View("open"), limit=50)
            top.append(time.perf_counter() - started)
        return statistics.median(whole) * 1000, statistics.median(top) * 1000
    finally:
        await store.close()


async def run(path: Path, conversations: int, reuse: bool) -> None:
    if not (reuse and path.exists()):
        await build(path, conversations)
    await timed_recompute(path, None)  # start from no stored due times
    print(f"\n  {'':<52} {'time':>8} {'CPU':>8} {'rows':>9}")
    for label, settings in (
        ("full recompute, policies new (target ≤ 5 s)", policies()),
        ("full recompute, every target changed", policies(scale=1.5)),
    ):
        seconds, cpu, changed = await timed_recompute(path, settings)
        print(f"  {label:<52} {seconds:>7.2f}s {cpu:>7.2f}s {changed:>9,}")
    without = await one_write(path, None)
    with_sla = await one_write(path, policies())
    print(f"  {'one priority change, no policies (median)':<52} {without:>6.2f}ms")
    print(f"  {'one priority change + its recompute (median)':<52} {with_sla:>6.2f}ms")
    plain = await ingest_rate(path, None)
    kept = await ingest_rate(path, policies())
    print(f"  {'ingest, no policies':<52} {plain:>7,.0f} msg/s")
    print(f"  {'ingest + recompute of each batch':<52} {kept:>7,.0f} msg/s")
    for label, settings in (("plain order", None), ("breaching first", policies())):
        whole, top = await view_order(path, settings)
        print(
            f"  {'All open, urgent order, ' + label + ': whole / top 50':<52} {whole:>6.0f}ms {top:>6.1f}ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--store", type=Path, default=Path(__file__).parent / "out" / "sla.db")
    args = parser.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args.store, args.conversations, args.reuse))


if __name__ == "__main__":
    main()
