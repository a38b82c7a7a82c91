#!/usr/bin/env python3
"""Bulk-action benchmark: mark every row of a 10,000-row view and close them, as the
console does it, then undo.

    python bench/bulk_close.py                        # the store of bench/query_speed.py
    python bench/bulk_close.py --conversations 20000  # build a smaller one first

The steps are the store calls the TUI makes: the view's index (already in memory when the
agent presses ``*``; timed anyway), marking (a set of the ids, then the marked ids in queue
order, as ``QueueView.marked``), ``Store.apply`` of the close, the reload that follows (the
view's index and the counts of every sidebar view), and ``Store.restore`` (``u``). The store
is copied first, so the run changes nothing. A benchmark, not a test: it prints numbers and
never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from query_speed import spread_states  # noqa: E402
from scale import build  # noqa: E402

from agentconsole import views  # noqa: E402
from agentconsole.models import Change, View  # noqa: E402
from agentconsole.query import parse  # noqa: E402
from agentconsole.store import connect  # noqa: E402

ROWS = 10_000


async def run(path: Path) -> None:
    store = await connect(path, agent="bench")
    try:
        timings: list[tuple[str, float]] = []

        async def step(label: str, work):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            result = work()
            if inspect.isawaitable(result):
                result = await result
            timings.append((label, time.perf_counter() - started))
            return result

        view = View("open")
        index = await step("the view's index", lambda: store.conversation_ids(view))
        if len(index) < ROWS:
            raise SystemExit(f"the All open view has {len(index)} rows; build a bigger store")
        index = index[:ROWS]

        def mark() -> list[int]:
            marked = set(index)
            return [i for i in index if i in marked]

        marked = await step("mark all (*)", mark)
        outcomes = await step(
            "Store.apply close", lambda: store.apply(marked, Change("status", status="closed"))
        )

        async def reload() -> None:
            await store.conversation_ids(view)
            channels = [c.name for c in await store.channels(with_counts=False)]
            every = views.sidebar([], await store.shared_views(), channels, await store.tags())
            await store.count({d.key: parse(d.query) for d in every})

        await step("reload: index and sidebar counts", reload)
        states = [o.before for o in outcomes if o.changed and o.before is not None]
        await step("Store.restore (u)", lambda: store.restore(states))
    finally:
        await store.close()
    changed = sum(1 for o in outcomes if o.changed)
    print(f"{changed} of {len(marked)} closed")
    for label, seconds in timings:
        print(f"  {label:<36} {seconds * 1000:8.0f} ms")
    end_to_end = sum(seconds for label, seconds in timings[1:4])
    print(f"  {'mark + close + reload (end to end)':<36} {end_to_end * 1000:8.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--per-conversation", type=float, default=5.0)
    parser.add_argument("--store", type=Path, default=Path(__file__).parent / "out" / "query.db")
    args = parser.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    if args.conversations is not None or not args.store.exists():
        asyncio.run(build(args.store, args.conversations or 100_000, args.per_conversation))
        asyncio.run(spread_states(args.store))
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "bulk.db"
        with sqlite3.connect(args.store) as conn, sqlite3.connect(copy) as target:
            conn.backup(target)
        asyncio.run(run(copy))


if __name__ == "__main__":
    main()
