#!/usr/bin/env python3
"""Query-language benchmark: compiled queries on a large store, as views and ``list`` run them.

    python bench/query_speed.py                        # 100,000 conversations, ~500,000 messages
    python bench/query_speed.py --conversations 20000  # quicker
    python bench/query_speed.py --reuse                # keep the store of an earlier run
    python bench/query_speed.py --search-only          # only search on realistic mail
    python bench/query_speed.py --reuse --counts-only  # only the sidebar's counts

Builds the store with ``bench/scale.py``'s generator, then gives it a working day's spread of
states (statuses, assignees, tags, priorities, drafts), and prints for each query: the top 50
in queue order (median of runs), its count, and whether SQLite's plan uses an index. Counts of
20 sidebar views are timed together, as the sidebar refreshes them after every change.

Search is measured on realistic mail, not on the synthetic one-line bodies: the shared
generator's mailbox (``gen_corpus.py``, bodies of 200-3,000 characters plus quoted replies)
ingested once through the email channel into ``bench/out/`` (``--mail`` messages), then the
50 newest hits with their snippets for its common, medium and rare words, a prefix, two
words and a word with a field: median and spread (min-max) of runs, the statement alone
(hits without snippets) beside the whole call.
This is a benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from email_ingest import OUT, context, corpus, drain  # noqa: E402
from scale import build  # noqa: E402

from agentconsole import views  # noqa: E402
from agentconsole.query import parse  # noqa: E402
from agentconsole.store import connect, queries  # noqa: E402
from agentconsole.store.compile_query import (  # noqa: E402
    compile_query,
    estimator,
    row_counter,
    split_text,
    text_expression,
)
from agentconsole.store.sqlite.connection import SqliteDb  # noqa: E402
from agentconsole.store.sqlite.dialect import SQLITE  # noqa: E402

QUEUE_ORDER = (
    "c.priority, c.waiting_since IS NULL, c.waiting_since, c.last_message_at DESC, c.id DESC"
)
AGENTS = ("bench", "maria", "kenji", "priya")
TAGS = ("billing", "bug", "vip", "outage", "refund", "feature")
SINGLE_FIELD = (
    "status:pending",
    "tag:vip",
    "assignee:me",
    "is:unassigned",
    "priority:>=high",
    "channel:bench-chat",
    "type:forum",
    "waiting:>4h",
    "has:draft",
    "from:@example.org",
)
COMBINED = (
    "refund tag:billing priority:>=high",
    "refund tag:billing",
    "account assignee:me -status:closed",
    "invoice channel:bench-email is:waiting",
    "quokka status:open",
    "quokka OR warehouse -status:closed",
)
#: Conversations marked spam: every view but Spam leaves them out, which each count pays.
SPAM_SHARE = 0.01


async def spread_states(path: Path) -> None:
    """A deterministic spread of what agents did, through the store's own actions."""
    store = await connect(path, agent="bench")
    ids = [
        row[0]
        for row in await store.run_sync(
            lambda conn: conn.execute("SELECT id FROM conversations ORDER BY id").fetchall()
        )
    ]
    pick = random.Random(7)
    started = time.perf_counter()
    for conversation_id in ids:
        roll = pick.random()
        if roll < 0.35:
            await store.set_status(conversation_id, "closed")
        elif roll < 0.45:
            await store.set_status(conversation_id, "pending")
        elif roll < 0.48:
            await store.set_status(conversation_id, "snoozed", snooze_until=time.time() + 86400)
        if pick.random() < 0.5:
            await store.assign(conversation_id, pick.choice(AGENTS), force=True)
        if pick.random() < 0.3:
            await store.retag(conversation_id, [pick.choice(TAGS)])
        if pick.random() < 0.1:
            await store.set_priority(conversation_id, pick.choice((0, 1)))
        if pick.random() < 0.01:
            await store.save_draft(conversation_id, "reply", "draft text")
    spam = [i for i in ids if pick.random() < SPAM_SHARE]
    for start in range(0, len(spam), 500):
        await store.set_spam(spam[start : start + 500])
    await store.close()
    print(
        f"  states spread over {len(ids):,} conversations in {time.perf_counter() - started:.0f} s"
    )


def timed(
    conn: sqlite3.Connection, sql: str, params: tuple[object, ...], runs: int = 11
) -> tuple[float, list[object]]:
    timings, rows = [], []
    for _ in range(runs):
        started = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, rows


def uses_index(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> str:
    plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    scans = [step for step in plan if step.startswith("SCAN") and "USING" not in step]
    return "index" if not scans else "scan: " + "; ".join(scans)[:60]


def measure(path: Path) -> None:
    conn = sqlite3.connect(path, factory=SqliteDb)
    now = time.time()

    def compiled(text: str, *, top: bool = False) -> tuple[str, tuple[object, ...]]:
        """As the store compiles it: a top-N in queue order also sizes its field terms."""
        result = compile_query(
            parse(text),
            agent="bench",
            now=now,
            dialect=SQLITE,
            estimate=estimator(conn),
            rows=row_counter(conn) if top else None,
        )
        return result.where, result.params

    print(f"\n  {'query':<48} {'top 50':>9} {'count':>9} {'rows':>8}  plan")
    for _label, texts, target in (
        ("single field", SINGLE_FIELD, 25),
        ("words + fields", COMBINED, 50),
    ):
        for text in texts:
            where, params = compiled(text, top=True)
            top_sql = (
                f"SELECT c.id FROM conversations c WHERE {where} ORDER BY {QUEUE_ORDER} LIMIT 50"
            )
            top_ms, _ = timed(conn, top_sql, params)
            plan = uses_index(conn, top_sql, params)
            where, params = compiled(text)
            count_sql = f"SELECT count(*) FROM conversations c WHERE {where}"
            count_ms, count_rows = timed(conn, count_sql, params, runs=5)
            flag = "" if top_ms <= target else f"  > {target} ms"
            print(
                f"  {text:<48} {top_ms:>7.1f}ms {count_ms:>7.1f}ms {count_rows[0][0]:>8,}"
                f"  {plan}{flag}"
            )
    conn.close()
    asyncio.run(measure_counts(path))


async def measure_counts(path: Path, runs: int = 7) -> None:
    """Every sidebar view's count as the sidebar asks for them (``Store.count``, all in one
    call), median and spread of ``runs``; then each view's time and SQLite plan."""
    store = await connect(path, agent="bench")
    channels = [channel.name for channel in await store.channels(with_counts=False)]
    definitions = views.sidebar([], await store.shared_views(), channels, await store.tags())
    nodes = {d.key: parse(d.query) for d in definitions}
    timings, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        await store.count(nodes)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    print(
        f"\n  counts of the {len(nodes)} sidebar views (Store.count), median [min-max] of"
        f" {runs} runs: CPU {spread(cpu)}, wall {spread(timings)} (target ≤ 50 ms)"
    )

    def each(conn: SqliteDb) -> None:
        for definition in definitions:
            node = nodes[definition.key]
            sql, params = queries.count_statement(conn, node, "bench", time.time())
            one = []
            for _ in range(5):
                started = time.process_time()
                count = conn.execute(sql, params).fetchone()[0]
                one.append(time.process_time() - started)
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            print(f"  {definition.key:<22} {spread(one):>26} {count:>8,}  {plan[:90]}")

    await store.run_sync(each)
    await store.close()


#: Searches on the generated mailbox: its manifest's words, a prefix, two words, a field.
MAIL_SEARCHES = (
    "account",
    "warehouse",
    "quokka",
    "acc*",
    "refund invoice",
    "account status:open",
)


async def mail_store(size: int) -> Path:
    """A store holding the generated mailbox of ``size`` messages (built once)."""
    from agentconsole_email import EmailChannel

    path = OUT / f"search-mail-{size}.db"
    if path.exists():
        return path
    maildir = corpus(size)
    building = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    store = await connect(building, agent="bench")
    await store.ensure_channel("mail", "email", "email")
    plugin = EmailChannel(context("mail", maildir=str(maildir)))
    started = time.perf_counter()
    try:
        stored = await drain(store, plugin, "mail")
    finally:
        await plugin.close()
        await store.close()
    print(f"  {stored:,} messages ingested in {time.perf_counter() - started:.0f} s")
    building.rename(path)
    return path


def spread(timings: list[float]) -> str:
    ordered = sorted(timings)
    median = statistics.median(ordered) * 1000
    return f"{median:6.2f} ms [{ordered[0] * 1000:.2f}-{ordered[-1] * 1000:.2f}]"


def measure_search(path: Path, runs: int = 31) -> None:
    """The 50 newest hits with snippets, as ``search`` and the TUI's ``/`` ask for them."""
    conn = sqlite3.connect(path, factory=SqliteDb)
    messages = conn.execute("SELECT count(*), avg(length(body)) FROM messages").fetchone()
    print(
        f"\n  search with snippets, 50 hits, {messages[0]:,} generated mails"
        f" (bodies {messages[1]:,.0f} characters on average); median [min-max] of {runs} runs"
        " of CPU time (the machine is shared: wall time measures the neighbours)"
    )
    print(f"  {'query':<24} {'hits':>5}  {'whole search':>28}  {'statement alone':>28}")
    for text in MAIL_SEARCHES:
        node = parse(text)
        whole, alone = [], []
        hits = []
        textual, _rest = split_text(node)
        statement = SQLITE.newest_hits("m.id", "1 = 1")
        expression = text_expression(textual, SQLITE)
        for _ in range(runs):
            started = time.process_time()
            hits = queries.search_hits(conn, node, "bench", time.time(), 50)
            whole.append(time.process_time() - started)
            started = time.process_time()
            conn.execute(statement, (expression, 50)).fetchall()
            alone.append(time.process_time() - started)
        print(f"  {text:<24} {len(hits):>5}  {spread(whole):>28}  {spread(alone):>28}")
    print("  (target: 50 hits with snippets ≤ 1.5 ms)")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--per-conversation", type=float, default=5.0)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--store", type=Path, default=Path(__file__).parent / "out" / "query.db")
    parser.add_argument("--mail", type=int, default=20_000, help="generated mails to search")
    parser.add_argument("--search-only", action="store_true")
    parser.add_argument("--counts-only", action="store_true")
    args = parser.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if not args.counts_only:
        measure_search(asyncio.run(mail_store(args.mail)))
    if args.search_only:
        return
    if not (args.reuse and args.store.exists()):
        asyncio.run(build(args.store, args.conversations, args.per_conversation))
        asyncio.run(spread_states(args.store))
    if args.counts_only:
        asyncio.run(measure_counts(args.store))
    else:
        measure(args.store)


if __name__ == "__main__":
    main()
