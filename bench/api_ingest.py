#!/usr/bin/env python3
"""API channel benchmark: requests/s the ``POST /messages`` endpoint holds with no loss.

    python bench/api_ingest.py                          # 5,000 messages, 32 at a time
    python bench/api_ingest.py --count 20000 --concurrency 64

Runs the real sync runner with one API channel on a loopback port and a temp store, sends
``count`` signed messages (spread over conversations and customers) from an aiohttp client
with ``concurrency`` requests in flight, and prints requests/s, latency percentiles and
whether every 202 is in the store (stored == sent). Each 202 means the message was
committed, so the figure is the committed-ingest rate over HTTP. This is a benchmark, not
a test: it prints numbers and never fails on them (it exits 1 only if messages were lost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from agentconsole import config as config_module
from agentconsole.plugin.http import sign
from agentconsole.store import connect
from agentconsole.sync import SyncRunner
from agentconsole_api import ApiChannel

SECRET = "bench-secret"


def report(name: str, value: str) -> None:
    print(f"  {name:<44} {value:>16}", flush=True)


def body_of(number: int) -> bytes:
    customer = number % 997
    return json.dumps(
        {
            "id": f"bench-{number}",
            "conversation": f"chat-{number % 1500}",
            "author": {
                "id": f"visitor-{customer}",
                "name": f"Visitor {customer}",
                "email": f"visitor{customer}@example.com",
            },
            "text": f"Message {number}: my order has not arrived and the tracking page is blank.",
            "sent_at": 1_795_000_000 + number,
        }
    ).encode()


async def run(count: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        store = await connect(Path(folder) / "store.db", agent="bench")
        data = {
            "agent": {"name": "bench"},
            "channels": {
                "site": {
                    "type": "api",
                    "listen": "127.0.0.1:0",
                    "secret_command": f"printf {SECRET}",
                    "max_body": 65536,
                }
            },
        }
        runner = SyncRunner(
            store, config_module.parse(data, "bench.toml"), plugin_classes={"api": ApiChannel}
        )
        await runner.start()
        plugin = await runner.plugin("site")
        assert isinstance(plugin, ApiChannel)
        while not plugin.endpoint.running:
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{plugin.endpoint.bound_port}/messages"
        bodies = [body_of(n) for n in range(count)]
        signatures = [sign(SECRET, body) for body in bodies]
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        queue: asyncio.Queue[int] = asyncio.Queue()
        for number in range(count):
            queue.put_nowait(number)

        async def worker(http: aiohttp.ClientSession) -> None:
            while not queue.empty():
                number = queue.get_nowait()
                headers = {"Content-Type": "application/json", "X-Signature": signatures[number]}
                started = time.perf_counter()
                async with http.post(url, data=bodies[number], headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        connector = aiohttp.TCPConnector(limit=concurrency)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            started = time.perf_counter()
            await asyncio.gather(*(worker(http) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        stored = await store.run_sync(
            lambda c: c.execute("SELECT count(*) FROM messages").fetchone()[0]
        )
        await runner.stop()
        await store.close()

    accepted = statuses.get(202, 0)
    latencies.sort()
    print(
        f"agentconsole API ingest benchmark — {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, loopback"
    )
    report("signed POSTs sent", f"{count}")
    report("requests in flight", f"{concurrency}")
    report("answers", ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items())))
    report("requests/s (each 202 committed)", f"{count / elapsed:,.0f}")
    report("latency median", f"{statistics.median(latencies) * 1000:.1f} ms")
    report("latency p95", f"{latencies[int(len(latencies) * 0.95) - 1] * 1000:.1f} ms")
    report("stored == accepted == sent", f"{stored} / {accepted} / {count}")
    return 0 if stored == accepted == count else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000, help="messages to send")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(run(arguments.count, arguments.concurrency)))


if __name__ == "__main__":
    main()
