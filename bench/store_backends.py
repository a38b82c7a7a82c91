#!/usr/bin/env python3
"""SQLite and PostgreSQL side by side: the same generated store on each backend, the same
measures, one table.

    python bench/store_backends.py                        # 100,000 conversations, ~500,000 messages
    python bench/store_backends.py --conversations 10000  # quicker
    python bench/store_backends.py --postgres URL         # an existing, empty database
    python bench/store_backends.py --backend postgresql --ingest-only  # one backend's ingest

Without ``--postgres`` a throwaway PostgreSQL cluster is started in a temporary folder (the
test suite's, from Debian's postgresql package, with durable settings: see
:data:`SERVER_SETTINGS`). Measures:
* ingest, one writer: normalized messages/s through the whole pipeline
* ingest, four writer processes at once, each its own quarter of the conversations (timed
  from when all four are connected, their messages made, to when the last is done)
* CPU per message of each: the writers' threads in ingest plus (PostgreSQL) the server's
  processes — on a shared machine steadier than the rate, which measures the neighbours
* search: the 50 newest hits for a common and a rare word (median of 20)
* queue: the open view's whole index and its first 50 rows (median of 20)
* view counts: every sidebar view's count (median of 10)
* live update: another connection commits; how long until this one knows (median of 20;
  SQLite announces nothing, so the console sees it at its next 0.4 s look)
A benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from store_cpu import STORE_CPU, time_store_writes  # noqa: E402
from synthetic import CHANNELS, COMMON, RARE, ingest_all  # noqa: E402

from agentconsole.models import View  # noqa: E402
from agentconsole.store import Store, connect  # noqa: E402

BATCH = 2000
#: The throwaway cluster's settings: an operator's, durable (fsync, full-page writes and
#: synchronous commit at their defaults, on), with the memory and WAL room a server given
#: a store of this size would get (PostgreSQL's defaults are for a small shared machine).
SERVER_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "4GB"}
#: The console's look at the change token on a backend that announces nothing.
POLL_SECONDS = 0.4

WRITER = """
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[4])
from synthetic import messages
from store_cpu import STORE_CPU, time_store_writes
from agentconsole.store import connect
async def main(location, part, parts, conversations):
    batches, chunk = [], {}
    for channel, message in messages(conversations, 5.0):
        # By conversation (the number in "<conversation.position@bench.example>"): mail has
        # no thread key, and hash(None) differs between processes.
        if int(message.external_id[1:].split(".")[0]) % parts != part:
            continue
        chunk.setdefault(channel, []).append(message)
        if sum(map(len, chunk.values())) >= 500:
            batches += chunk.items()
            chunk = {}
    batches += chunk.items()
    store = await connect(location, agent=f"writer{part}")
    time_store_writes()
    print("ready", flush=True)
    sys.stdin.readline()
    for name, batch in batches:
        await store.ingest(name, batch, None, update_cursor=False)
    print(json.dumps({"cpu": STORE_CPU[0]}), flush=True)
    await store.close()
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])))
"""


def server_cpu(server: object | None) -> float:
    """CPU seconds the PostgreSQL cluster's processes used so far (the postmaster, its live
    children, and the children it reaped); 0 without a cluster of ours."""
    folder = getattr(server, "folder", None)
    if folder is None:
        return 0.0
    postmaster = int((Path(folder) / "data" / "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")

    def fields(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    total = sum(map(int, fields(postmaster)[11:15]))  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or entry.name == str(postmaster):
            continue
        try:
            stat = fields(int(entry.name))
        except OSError:
            continue
        if int(stat[1]) == postmaster:  # its parent
            total += int(stat[11]) + int(stat[12])
    return total / ticks


async def prepare(location: str | Path) -> Store:
    store = await connect(location, agent="bench")
    for name, kind in CHANNELS:
        await store.ensure_channel(name, "bench", kind)
    return store


async def ingest_one_writer(
    location: str | Path, conversations: int, server: object | None
) -> tuple[int, float, float, float]:
    """(messages, seconds, CPU seconds of the writer's ingest, of the server)."""
    store = await prepare(location)
    STORE_CPU[0] = 0.0
    before = server_cpu(server)
    try:
        total, seconds = await ingest_all(store, conversations, 5.0, BATCH)
        # Before the session ends: its server process's time is counted while it lives.
        on_server = server_cpu(server) - before
    finally:
        await store.close()
    return total, seconds, STORE_CPU[0], on_server


async def ingest_four_writers(
    location: str | Path, conversations: int, server: object | None
) -> tuple[int, float, float, float]:
    """(messages, seconds, CPU seconds of the writers' ingest, of the server)."""
    await (await prepare(location)).close()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(location),
                str(part),
                "4",
                str(ROOT / "bench"),
                str(conversations),
            ],
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for part in range(4)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    before = server_cpu(server)
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = [proc.stdout.readline() for proc in procs if proc.stdout is not None]
    seconds = time.perf_counter() - started
    on_server = server_cpu(server) - before
    cpu = sum(json.loads(report)["cpu"] for report in reports if report.strip())
    codes = [p.wait() for p in procs]
    store = await connect(location, agent="bench")
    total = await store.run_sync(
        lambda db: db.execute("SELECT count(*) FROM messages").fetchone()[0]
    )
    await store.close()
    if any(codes):
        print(f"  (a writer failed: exit codes {codes})")
    return int(total), seconds, cpu, on_server


async def timed(call, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def reads(location: str | Path) -> dict[str, float]:
    store = await connect(location, agent="bench")
    try:

        async def queue() -> None:
            ids = await store.conversation_ids(View("open"))
            await store.conversation_rows(ids[:50])

        return {
            "search common": await timed(lambda: store.search(COMMON), 20),
            "search rare": await timed(lambda: store.search(RARE), 20),
            "queue": await timed(queue, 20),
            "counts": await timed(store.view_counts, 10),
        }
    finally:
        await store.close()


async def live_update(location: str | Path) -> float:
    watcher = await connect(location, agent="watcher")
    writer = await connect(location, agent="writer")
    samples = []
    try:
        for n in range(20):
            before = await watcher.change_token()
            waiting = asyncio.create_task(watcher.wait_for_change(POLL_SECONDS))
            await asyncio.sleep(0.05)
            committed = time.perf_counter()  # from the start of the write (its commit included)
            await writer.set_health(CHANNELS[0][0], "idle", f"tick {n}")
            announced = await waiting
            if not announced:  # no announcement: the next poll sees the new token
                while await watcher.change_token() == before:
                    await asyncio.sleep(POLL_SECONDS)
            samples.append((time.perf_counter() - committed) * 1000)
    finally:
        await writer.close()
        await watcher.close()
    return statistics.median(samples)


def _cpu(client: float, server: float, messages: int) -> str:
    """CPU per message, ``writers + server µs`` (the server's part only on PostgreSQL)."""
    each = [seconds / messages * 1e6 for seconds in (client, server) if seconds]
    return " + ".join(f"{value:,.0f}" for value in each) + " µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--postgres", help="URLs of empty databases: one, four-writers")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql"), help="measure this backend only"
    )
    parser.add_argument("--ingest-only", action="store_true", help="only the two ingest measures")
    args = parser.parse_args()
    time_store_writes()
    folder = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    server = None
    if args.postgres:
        urls = args.postgres.split(",")
    elif args.backend == "sqlite":
        urls = ["", ""]  # no server to start
    else:
        from tests import postgres_server

        server = postgres_server.start(SERVER_SETTINGS)
        urls = [server.new_database(), server.new_database()]
    locations: dict[str, list[Path] | list[str]] = {
        "sqlite": [folder / "one.db", folder / "four.db"],
        "postgresql": urls,
    }
    if args.backend:
        locations = {args.backend: locations[args.backend]}
    results: dict[str, dict[str, str]] = {}
    try:
        for backend, (one, four) in locations.items():
            print(f"{backend}: building {args.conversations:,} conversations …", flush=True)
            row = results[backend] = {}

            def measured(measure: str, value: str, row: dict[str, str] = row) -> None:
                # Each figure as it comes: a run at full size takes long enough to be cut.
                row[measure] = value
                print(f"  {measure}: {value}", flush=True)

            total, seconds, cpu, on_server = asyncio.run(
                ingest_one_writer(one, args.conversations, server)
            )
            measured("ingest, one writer", f"{total / seconds:,.0f} msg/s")
            measured("  CPU/message: writer+server", _cpu(cpu, on_server, total))
            total4, seconds4, cpu4, on_server4 = asyncio.run(
                ingest_four_writers(four, args.conversations, server)
            )
            measured("ingest, four writers", f"{total4 / seconds4:,.0f} msg/s")
            measured("  CPU/message: writers+server", _cpu(cpu4, on_server4, total4))
            measured("messages", f"{total:,}")
            if total4 != total:
                print(f"  (four writers stored {total4:,} messages, one writer {total:,})")
            if args.ingest_only:
                continue
            for name, ms in asyncio.run(reads(one)).items():
                measured(name, f"{ms:.1f} ms")
            measured("live update", f"{asyncio.run(live_update(one)):.1f} ms")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    targets = {
        "ingest, four writers": "PG ≥ 3,000 msg/s",
        "search common": "≤ 25 ms",
        "search rare": "≤ 25 ms",
        "live update": "PG ≤ 200 ms",
    }
    names = list(results)
    labels = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    print(f"\n  {'measure':<30}" + "".join(f" {labels[n]:>16}" for n in names) + "   target")
    for measure in results[names[0]]:
        values = "".join(f" {results[n][measure]:>16}" for n in names)
        print(f"  {measure:<30}{values}   {targets.get(measure, '')}")


if __name__ == "__main__":
    main()
