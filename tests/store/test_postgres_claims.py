"""Outbox claims on PostgreSQL lock the replies they take and skip the ones another
transaction holds: a sender never waits for a long write (an ingest batch holds the store's
writer lock for seconds), two claims never take the same reply, and taking a reply back
while a sender claims it is one or the other — never both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from agentconsole.errors import ConflictError
from agentconsole.store import Store, connect
from agentconsole.store.postgres.connection import WRITER_LOCK
from tests.conftest import inbound
from tests.postgres_server import PostgresServer
from tests.store.pg_waits import someone_waits_for_a_lock


@pytest.fixture
async def pg_store(postgres: PostgresServer) -> AsyncIterator[tuple[str, Store]]:
    url = postgres.new_database()
    store = await connect(url, agent="alice")
    await store.ensure_channel("mail", "email", "email")
    try:
        yield url, store
    finally:
        await store.close()
        postgres.drop_database(url)


async def three_queued(store: Store) -> list[int]:
    report = await store.ingest("mail", [inbound(f"help {n}", thread_key=f"t{n}") for n in "abc"])
    return [await store.queue_reply(cid, f"answer {cid}") for cid in report.created]


async def test_a_claim_does_not_wait_for_the_writer_lock(pg_store: tuple[str, Store]) -> None:
    url, store = pg_store
    replies = await three_queued(store)
    with psycopg.connect(url) as writer:  # a long write: holds the lock until rollback
        writer.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        claimed = await asyncio.wait_for(store.claim_due_replies("mail"), timeout=5)
        writer.rollback()
    assert sorted(item.message_id for item in claimed) == sorted(replies)


async def test_a_reply_another_claim_holds_is_skipped(pg_store: tuple[str, Store]) -> None:
    url, store = pg_store
    first, *others = await three_queued(store)
    with psycopg.connect(url) as other_sender:
        other_sender.execute("SELECT id FROM outbox WHERE message_id = %s FOR UPDATE", (first,))
        claimed = await asyncio.wait_for(store.claim_due_replies("mail"), timeout=5)
        other_sender.rollback()
    assert sorted(item.message_id for item in claimed) == sorted(others)
    assert [item.message_id for item in await store.claim_due_replies("mail")] == [first]


async def test_taking_back_a_reply_being_claimed_waits_and_then_refuses(
    pg_store: tuple[str, Store],
) -> None:
    url, store = pg_store
    report = await store.ingest("mail", [inbound("help", thread_key="t")])
    reply = await store.queue_undoable_reply(report.created[0], "answer", undo_seconds=60)
    with psycopg.connect(url) as sender, psycopg.connect(url, autocommit=True) as watcher:
        # A claim in flight (a sender that takes the reply as its window ends): the row is
        # locked and becomes sending when it commits.
        sender.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE message_id = %s",
            (reply,),
        )
        taking_back = asyncio.create_task(store.unsend(reply))
        await someone_waits_for_a_lock(watcher, "nobody waited for the locked reply")
        assert not taking_back.done()
        sender.commit()
    with pytest.raises(ConflictError, match="can no longer be taken back"):
        await taking_back
