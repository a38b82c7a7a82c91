"""Ingest batches on PostgreSQL run beside each other when they share nothing (four writer
processes at once), and wait for each other when they could interfere: with real writers
at once on a real server, no message is stored twice, no thread is split, and a person's
identities stay on one contact."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import psycopg
import pytest

from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.store import connect
from agentconsole.store.postgres.connection import WRITER_LOCK, key_lock
from tests.conftest import BASE_TIME, inbound
from tests.postgres_server import PostgresServer
from tests.store.pg_waits import someone_waits_for_a_lock

WRITERS = 4
THREADS = 24
LINES = 4


@pytest.fixture
async def pg_url(postgres: PostgresServer) -> AsyncIterator[str]:
    url = postgres.new_database()
    store = await connect(url, agent="setup")
    await store.ensure_channel("mail", "email", "email")
    await store.ensure_channel("chat", "demo", "chat")
    await store.close()
    try:
        yield url
    finally:
        postgres.drop_database(url)


async def test_a_batch_runs_beside_a_batch_sharing_nothing_and_waits_for_one_sharing_a_key(
    pg_url: str,
) -> None:
    store = await connect(pg_url, agent="alice")
    try:
        with (
            psycopg.connect(pg_url) as other_writer,
            psycopg.connect(pg_url, autocommit=True) as watcher,
        ):
            # Another writer's batch in flight, holding what a batch of chat thread "busy"
            # holds (the store's own connection takes these same locks).
            channel = await store.run_sync(
                lambda db: db.execute("SELECT id FROM channels WHERE name = 'chat'").fetchone()[0]
            )
            other_writer.execute("SELECT pg_advisory_xact_lock_shared(%s)", (WRITER_LOCK,))
            other_writer.execute(
                "SELECT pg_advisory_xact_lock(%s)", (key_lock(f"t:{channel}:busy"),)
            )
            apart = await asyncio.wait_for(
                store.ingest("chat", [inbound("hello", thread_key="free")]), timeout=10
            )
            assert apart.stored == 1
            sharing = asyncio.create_task(
                store.ingest("chat", [inbound("me too", thread_key="busy")])
            )
            await someone_waits_for_a_lock(watcher)
            assert not sharing.done()
            other_writer.rollback()
            assert (await asyncio.wait_for(sharing, timeout=10)).stored == 1
    finally:
        await store.close()


def _threads() -> list[list[tuple[str, InboundMessage]]]:
    """Mail threads whose replies carry the whole References chain and chat threads sharing
    a thread key, each line from another person (so only the thread ties its lines
    together), the chat ones known by their mail address too (a contact with two
    identities): any order of arrival gives one conversation per thread."""
    threads: list[list[tuple[str, InboundMessage]]] = []
    for index in range(THREADS):
        channel = "chat" if index % 2 else "mail"
        ids = [f"<{index}.{n}@parallel.example>" for n in range(LINES)]
        thread = []
        for n, external_id in enumerate(ids):
            mail = Identity("email", f"Person{index}.{n}@Example.com")
            identities = (Identity("demo", f"user{index}.{n}"), mail) if index % 2 else (mail,)
            thread.append(
                (
                    channel,
                    InboundMessage(
                        external_id=external_id,
                        author=Author(f"Person {index}.{n}", identities),
                        body=f"thread {index} line {n}",
                        sent_at=BASE_TIME + timedelta(seconds=index * 100 + n),
                        subject=f"Thread {index}" if channel == "mail" else "",
                        thread_key=f"thread{index}" if channel == "chat" else None,
                        references=tuple(ids[:n]) if channel == "mail" else (),
                    ),
                )
            )
        threads.append(thread)
    return threads


async def _write(url: str, part: list[tuple[str, InboundMessage]]) -> None:
    store = await connect(url, agent="writer")
    try:
        for start in range(0, len(part), 6):
            chunk = part[start : start + 6]
            for channel in ("mail", "chat"):
                batch = [message for name, message in chunk if name == channel]
                if batch:
                    await store.ingest(channel, batch, None, update_cursor=False)
    finally:
        await store.close()


async def test_writers_at_once_store_each_message_once_and_keep_threads_whole(
    pg_url: str,
) -> None:
    rng = random.Random(10)
    threads = _threads()
    # Every message goes to two to four writers (delivered by several at once), each in its
    # own order (so replies often come before what they answer, on another writer).
    parts: list[list[tuple[str, InboundMessage]]] = [[] for _ in range(WRITERS)]
    for thread in threads:
        for pair in thread:
            for writer in rng.sample(range(WRITERS), k=rng.randint(2, WRITERS)):
                parts[writer].append(pair)
    for part in parts:
        rng.shuffle(part)
    outcomes = await asyncio.gather(*(_write(pg_url, p) for p in parts), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome

    store = await connect(pg_url, agent="alice")
    try:

        def stored(db):  # type: ignore[no-untyped-def]
            return db.execute("SELECT external_id, conversation_id FROM messages").fetchall()

        rows = await store.run_sync(stored)
        identities = await store.run_sync(
            lambda db: db.execute("SELECT address, contact_id FROM identities").fetchall()
        )
    finally:
        await store.close()
    ids = [external_id for external_id, _ in rows]
    every = [message.external_id for thread in threads for _, message in thread]
    assert sorted(ids) == sorted(every), "a message was stored twice or lost"
    conversation_of = dict(rows)
    for thread in threads:
        here = {conversation_of[message.external_id] for _, message in thread}
        assert len(here) == 1, f"{thread[0][1].body!r}: split into {sorted(here)}"
    # One contact per person: a chat handle and its mail address on the same one.
    contacts_of: dict[str, set[int]] = {}
    for address, contact_id in identities:
        contacts_of.setdefault(re.findall(r"\d+\.\d+", address)[0], set()).add(contact_id)
    assert len(identities) == THREADS * LINES * 3 // 2
    assert all(len(contacts) == 1 for contacts in contacts_of.values()), contacts_of
