"""Ingest stays linear: no statement it runs walks a whole table or a whole channel, so the
cost of a message does not grow with the store (checked on SQLite's query plans and its
virtual machine's instruction count, not by timing)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from agentconsole.plugin import Identity, InboundMessage
from agentconsole.store import Store
from tests.conftest import inbound

pytestmark = pytest.mark.sqlite_only

#: A plan line reading a whole table, or a whole channel through an index on it alone.
_WALKS = (
    re.compile(r"^SCAN (?P<name>\w+)"),
    re.compile(r"^SEARCH (?P<name>\w+) USING (?:COVERING )?INDEX \w+ \(channel_id=\?\)$"),
)


def _thread(prefix: str, *, minutes: float = 0) -> list[InboundMessage]:
    """A thread of three in arrival order, with the reply to an unseen message and the
    parent arriving after its reply, so every threading lookup runs."""
    root, reply, late = f"<{prefix}.root@x>", f"<{prefix}.reply@x>", f"<{prefix}.late@x>"
    return [
        inbound(external_id=root, subject=f"Order {prefix}", email=f"{prefix}@x", minutes=minutes),
        inbound(external_id=reply, references=(root,), minutes=minutes + 1, from_agent=True),
        # answers <…parent> nobody has seen yet; its parent arrives next
        inbound(external_id=late, references=(f"<{prefix}.parent@x>",), minutes=minutes + 2),
        inbound(external_id=f"<{prefix}.parent@x>", minutes=minutes + 3),
        # two answers to a message never seen, with a References chain of two
        inbound(
            external_id=f"<{prefix}.sibling@x>",
            references=(f"<{prefix}.unseen-root@x>", f"<{prefix}.unseen@x>"),
            minutes=minutes + 4,
        ),
        inbound(
            external_id=f"<{prefix}.sibling2@x>",
            references=(f"<{prefix}.unseen-root@x>", f"<{prefix}.unseen@x>"),
            minutes=minutes + 5,
        ),
    ]


def _every_path(
    prefix: str, closed_token: int
) -> tuple[list[InboundMessage], list[InboundMessage]]:
    """Mail and chat batches that take every ingest path: references, siblings, a parent
    after its reply, a token, a thread key, a revised message under a known id, a
    redelivery, an auto-reply, a reopen, a bot greeting claimed by the customer, a
    hand-off, and a contact merge."""
    mail = [
        *_thread(prefix),
        inbound(external_id=f"<{prefix}.root@x>", subject=f"Order {prefix}"),  # redelivery
        inbound("revised", external_id=f"<{prefix}.root@x>", subject=f"Order {prefix}"),
        inbound(
            f"token {prefix}",
            subject=f"Re: [#{closed_token}] help",
            conversation_token=str(closed_token),
            email="seed@x",
            minutes=9,
        ),
        inbound("Out of office", automated=True, references=(f"<{prefix}.root@x>",)),
    ]
    chat = [
        inbound(
            "Hi, I am the bot",
            thread_key=f"room-{prefix}",
            from_agent=True,
            author_role="bot",
            name="bot",
            email=None,
        ),
        inbound(
            "hello",
            thread_key=f"room-{prefix}",
            identities=(
                Identity("demo-chat", f"user-{prefix}"),
                Identity("email", "ada@example.com"),
            ),
            minutes=1,
        ),
        inbound("a person please", thread_key=f"room-{prefix}", handoff=True, minutes=2),
    ]
    return mail, chat


async def _seed(store: Store) -> int:
    """A store with every kind of row ingest reads: a closed conversation, a merged one
    (a redirect), a sender blocked as spam; returns the closed conversation."""
    first = await store.ingest("mail", _thread("seed"))
    closed = first.created[0]
    await store.set_status(closed, "closed")
    other = await store.ingest("mail", [inbound(external_id="<merged@x>", email="bob@x.org")])
    await store.merge_conversations(closed, other.created[0])
    spam = await store.ingest("mail", [inbound(external_id="<spam@x>", email="spam@x.org")])
    await store.set_spam(list(spam.created))
    # a chat handle of its own: the later message naming it and ada's address merges them
    await store.ingest(
        "chat",
        [inbound(thread_key="own", identities=(Identity("demo-chat", "user-probe"),))],
    )
    return closed


async def _traced(store: Store, batches: Sequence[tuple[str, list[InboundMessage]]]) -> list[str]:
    statements: list[str] = []
    await store.run_sync(lambda db: db.set_trace_callback(statements.append))  # type: ignore[attr-defined]
    try:
        for channel, messages in batches:
            await store.ingest(channel, messages, "cursor")
    finally:
        await store.run_sync(lambda db: db.set_trace_callback(None))  # type: ignore[attr-defined]
    return [s for s in statements if s.lstrip().split(None, 1)[0].upper() in _QUERIES]


_QUERIES = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}
#: "Is there any?": the first row it reads answers it, however large the table.
_EXISTENCE_PROBE = re.compile(r"^SELECT 1 FROM \w+( WHERE \w+ = [^ ]+)? LIMIT 1$")


def _walks(db: sqlite3.Connection, statement: str) -> list[str]:
    """The lines of ``statement``'s plan that read a whole table or channel.

    Planned on a connection without foreign-key enforcement: inserting a conversation or
    a contact plans scans of the tables referring to it, which SQLite runs only while
    deferred violations are outstanding (never, in a consistent store; the instruction
    count test below would see them)."""
    if _EXISTENCE_PROBE.match(statement):
        return []
    plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}")]
    subqueries = {
        line.split()[-1] for line in plan if line.startswith(("CO-ROUTINE", "MATERIALIZE"))
    }
    found = []
    for line in plan:
        for pattern in _WALKS:
            match = pattern.match(line)
            if match and match["name"] not in subqueries and line != "SCAN CONSTANT ROW":
                found.append(line)
    return found


async def test_no_ingest_statement_walks_a_whole_table_or_channel(
    store: Store, store_path: Path
) -> None:
    closed = await _seed(store)
    mail, chat = _every_path("probe", closed)
    statements = await _traced(store, [("mail", mail), ("chat", chat)])
    report = await store.ingest("mail", [])
    assert report.stored == 0
    reasons = await store.run_sync(
        lambda db: {r[0] for r in db.execute("SELECT thread_reason FROM messages")}
    )
    # the batch took every threading path it is meant to check
    assert reasons >= {"references", "sibling", "referenced_by", "token", "thread_key", "same_id"}
    with sqlite3.connect(store_path) as db:
        walking = {s: w for s in dict.fromkeys(statements) if (w := _walks(db, s))}
    assert walking == {}


def _steps(store_db: sqlite3.Connection, counter: list[int]) -> None:
    def count() -> int:
        counter[0] += 1
        return 0

    store_db.set_progress_handler(count, 100)


async def _work_of_one_batch(store: Store, prefix: str) -> int:
    """SQLite virtual-machine instructions (in hundreds) to ingest one batch of threads."""
    counter = [0]
    await store.run_sync(lambda db: _steps(db, counter))  # type: ignore[arg-type]
    try:
        batch = [m for n in range(20) for m in _thread(f"{prefix}.{n}", minutes=n * 10)]
        await store.ingest("mail", batch)
    finally:
        await store.run_sync(lambda db: db.set_progress_handler(None, 0))  # type: ignore[attr-defined]
    return counter[0]


async def test_a_message_costs_the_same_in_a_store_ten_times_larger(store: Store) -> None:
    async def grow(threads: int, prefix: str) -> None:
        for start in range(0, threads, 100):
            batch = [
                m for n in range(start, min(start + 100, threads)) for m in _thread(f"{prefix}{n}")
            ]
            await store.ingest("mail", batch)

    await grow(50, "small")  # 300 messages
    small = await _work_of_one_batch(store, "first")
    await grow(500, "large")  # 3,300 messages
    large = await _work_of_one_batch(store, "second")
    # a walk over the channel's messages made this grow tenfold; B-trees one level deeper
    # cost a few percent
    assert large < small * 1.25, (small, large)
