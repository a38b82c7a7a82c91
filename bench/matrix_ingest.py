#!/usr/bin/env python3
"""Matrix channel benchmark: messages/s ingested from a real Synapse.

    python bench/matrix_ingest.py                      # 2,000 messages in 10 rooms
    python bench/matrix_ingest.py --count 5000 --rooms 20

Starts Synapse on a loopback port (pip ``matrix-synapse``, as the integration tests do),
registers a customer and an agent, has the customer send ``count`` messages spread over
``rooms`` rooms the agent has joined, then times the real sync runner's first sync with a
temp store: one ``/sync``, the back-fill of every limited timeline through ``/messages``,
normalizing, and the committed ingest. Prints messages/s and whether every message was
stored. A benchmark, not a test: it exits 1 only if messages were lost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentconsole import config as config_module  # noqa: E402
from agentconsole.store import connect  # noqa: E402
from agentconsole.sync import SyncRunner  # noqa: E402
from tests.integration.matrix.synapse import MatrixUser, Synapse, installed  # noqa: E402


def report(name: str, value: str) -> None:
    print(f"  {name:<44} {value:>16}", flush=True)


async def run(count: int, rooms: int, folder: Path) -> int:
    server = Synapse(folder / "synapse")
    started = time.perf_counter()
    server.start()
    report("synapse start", f"{time.perf_counter() - started:.1f} s")
    try:
        customer = MatrixUser(server, server.register("benchcustomer"))
        agent_account = server.register("benchagent")
        agent = MatrixUser(server, agent_account)
        room_ids = [
            await customer.create_room(invite=[agent_account.user_id]) for _ in range(rooms)
        ]
        for room in room_ids:
            await agent.join(room)
        per_room = [count // rooms + (1 if n < count % rooms else 0) for n in range(rooms)]

        async def fill(room: str, how_many: int) -> None:
            for n in range(how_many):
                await customer.send(
                    room, f"message {n} in {room[:8]}: my order has not arrived yet"
                )

        started = time.perf_counter()
        await asyncio.gather(*(fill(room, n) for room, n in zip(room_ids, per_room, strict=True)))
        sent_seconds = time.perf_counter() - started
        report("messages sent by the customer", f"{count}")
        report("send rate (client-server API)", f"{count / sent_seconds:,.0f} msg/s")
        await customer.close()
        await agent.close()

        os.environ["BENCH_MATRIX_TOKEN"] = agent_account.access_token
        data = {
            "agent": {"name": "bench"},
            "channels": {
                "mx": {
                    "type": "matrix",
                    "homeserver": server.url,
                    "user_id": agent_account.user_id,
                    "access_token_env": "BENCH_MATRIX_TOKEN",
                    "initial_history": max(per_room) + 10,
                }
            },
        }
        store = await connect(folder / "store.db", agent="bench")
        runner = SyncRunner(store, config_module.parse(data, "bench.toml"))
        started = time.perf_counter()
        results = await runner.run_once()
        seconds = time.perf_counter() - started
        await runner.stop()
        stored = await store.run_sync(
            lambda c: c.execute("SELECT count(*) FROM messages WHERE direction = 'in'").fetchone()[
                0
            ]
        )
        await store.close()
        report("first sync + back-fill + ingest", f"{seconds:.2f} s")
        report("ingest rate", f"{stored / seconds:,.0f} msg/s")
        report("stored / sent", f"{stored} / {count}")
        if results["mx"] is not None:
            print(f"sync error: {results['mx']}", file=sys.stderr)
        return 0 if stored == count else 1
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rooms", type=int, default=10)
    args = parser.parse_args()
    if not installed():
        print("matrix-synapse is not installed: pip install -e '.[test]'", file=sys.stderr)
        return 2
    print(f"Matrix ingest from Synapse: {args.count} messages in {args.rooms} rooms")
    with tempfile.TemporaryDirectory(prefix="agentconsole-bench-") as folder:
        return asyncio.run(run(args.count, args.rooms, Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
