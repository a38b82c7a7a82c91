"""The store: pragmas, migrations, concurrent writers, actions with audit, outbox, leases."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentconsole.errors import ConflictError, NotFoundError, StoreError, UsageError
from agentconsole.models import View
from agentconsole.query import QueryError
from agentconsole.store import Store, connect
from tests.conftest import inbound


@pytest.mark.sqlite_only
async def test_pragmas_and_schema_version(store: Store, store_path: Path) -> None:
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    checks = await store.run_sync(
        lambda c: (
            c.execute("PRAGMA foreign_keys").fetchone()[0],
            c.execute("PRAGMA busy_timeout").fetchone()[0],
        )
    )
    assert checks[0] == 1 and checks[1] >= 5000


async def test_reopening_keeps_data_and_a_newer_schema_is_refused(store_path: Path) -> None:
    store = await connect(store_path, agent="a")
    await store.ensure_channel("mail", "email", "email")
    await store.ingest("mail", [inbound()])
    await store.close()
    store = await connect(store_path, agent="a")
    assert len(await store.conversation_ids(View("open"))) == 1
    await store.close()
    sqlite3.connect(store_path).execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="newer agentconsole"):
        await connect(store_path, agent="a")


async def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        await connect(path, agent="a")


WRITER = """
import asyncio, sys
from datetime import datetime, timezone
from agentconsole.store import Store, connect
from agentconsole.plugin import InboundMessage, Author, Identity
async def main(path, who):
    store = await connect(path, agent=who)
    for i in range(60):
        m = InboundMessage(external_id=f"{who}-{i}", author=Author(who, (Identity("email", f"{who}@x"),)),
                           body="hi", sent_at=datetime.now(timezone.utc), thread_key=f"{who}-{i % 5}")
        await store.ingest("mail", [m])
    await store.close()
asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_two_processes_writing_at_once_lose_nothing(
    store: Store, store_location: str | Path
) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store_location), who], stderr=subprocess.PIPE
        )
        for who in ("p1", "p2", "p3")
    ]
    for _ in range(40):
        ids = await store.conversation_ids(View("open"))
        if ids:
            await store.retag(ids[0], ["busy"])
        await asyncio.sleep(0.01)
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    count = await store.run_sync(lambda c: c.execute("SELECT count(*) FROM messages").fetchone()[0])
    assert count == 180
    assert len(await store.conversation_ids(View("all"))) == 15


async def test_actions_are_audited_with_the_acting_agent(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.assign(conversation, "alice")
    await store.set_priority(conversation, 0)
    await store.retag(conversation, ["billing", "vip"], [])
    await store.retag(conversation, [], ["vip"])
    await store.add_note(conversation, "customer is on the old plan")
    await store.set_status(conversation, "closed")
    log = await store.audit_log(conversation)
    assert [e.action for e in reversed(log)] == [
        "assign",
        "priority",
        "tag",
        "tag",
        "note",
        "status",
    ]
    assert {e.agent for e in log} == {"alice"}
    row = (await store.conversation_rows([conversation]))[conversation]
    assert (row.priority, row.tags, row.status) == (0, ("billing",), "closed")


async def test_taking_another_agents_conversation_is_a_conflict(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.assign(conversation, "bob")
    with pytest.raises(ConflictError, match="bob"):
        await store.assign(conversation, "alice")
    await store.assign(conversation, "alice", force=True)
    assert conversation in await store.conversation_ids(View("mine"))


async def test_unknown_conversation_and_bad_input(store: Store) -> None:
    with pytest.raises(NotFoundError):
        await store.set_status(404, "closed")
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    with pytest.raises(UsageError):
        await store.set_status(conversation, "done")
    with pytest.raises(UsageError):
        await store.queue_reply(conversation, "   ")
    with pytest.raises(UsageError):
        await store.retag(conversation, ["two words"])


async def test_views_and_counts(store: Store) -> None:
    ids = [(await store.ingest("mail", [inbound(minutes=i)])).created[0] for i in range(6)]
    await store.assign(ids[0], "alice")
    await store.set_status(ids[1], "pending")
    await store.set_status(ids[2], "snoozed", snooze_until=time.time() + 3600)
    await store.set_status(ids[3], "closed")
    await store.retag(ids[4], ["vip"])
    counts = await store.view_counts()
    assert counts["mine"] == 1 and counts["pending"] == 1 and counts["snoozed"] == 1
    assert counts["closed"] == 1 and counts["open"] == 3 and counts["unassigned"] == 2
    assert counts["channel:mail"] == 4 and counts["tag:vip"] == 1
    assert await store.conversation_ids(View("tag", "vip")) == [ids[4]]


async def test_queue_puts_most_urgent_then_longest_waiting_first(store: Store) -> None:
    old, new, urgent = [
        (await store.ingest("mail", [inbound(minutes=m)])).created[0] for m in (0, 30, 60)
    ]
    answered = (await store.ingest("mail", [inbound(minutes=-100)])).created[0]
    await store.queue_reply(answered, "done")
    await store.set_priority(urgent, 0)
    assert await store.conversation_ids(View("open")) == [urgent, old, new, answered]


async def test_snoozed_conversations_wake_up(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.set_status(conversation, "snoozed", snooze_until=time.time() - 1)
    assert await store.wake_snoozed() == [conversation]
    assert (await store.conversation_rows([conversation]))[conversation].status == "open"


async def test_drafts_survive_reopening_and_go_away_when_sent(store_path: Path) -> None:
    store = await connect(store_path, agent="alice")
    await store.ensure_channel("mail", "email", "email")
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    await store.save_draft(conversation, "reply", "Dear Ada,")
    await store.close()
    store = await connect(store_path, agent="alice")
    assert await store.draft(conversation, "reply") == "Dear Ada,"
    other = await connect(store_path, agent="bob")
    assert await other.draft(conversation, "reply") is None
    await other.close()
    await store.queue_reply(conversation, "Dear Ada, fixed.")
    assert await store.draft(conversation, "reply") is None
    await store.close()


async def test_outbox_claim_retry_sent_and_failed(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound(external_id="<q@x>")])).created[0]
    message_id = await store.queue_reply(conversation, "Hello")
    [item] = await store.claim_due_replies("mail")
    assert item.in_reply_to == "<q@x>" and item.recipients[0].address == "ada@example.com"
    assert await store.claim_due_replies("mail") == []  # claimed: not handed out twice
    await store.mark_retry(item.id, "connection reset", time.time() - 1)
    [again] = await store.claim_due_replies("mail")
    assert again.attempts == 2 and again.idempotency_key == item.idempotency_key
    await store.mark_failed(again.id, "mailbox full")
    message = (await store.conversation(conversation)).messages[-1]
    assert (message.state, message.error) == ("failed", "mailbox full")
    await store.requeue_reply(message_id)
    [third] = await store.claim_due_replies("mail")
    await store.mark_sent(third.id, "<sent@acme>")
    message = (await store.conversation(conversation)).messages[-1]
    assert (message.state, message.external_id) == ("sent", "<sent@acme>")


async def test_leases_give_a_channel_to_one_owner_at_a_time(store: Store) -> None:
    assert await store.acquire_lease("mail", "host:1", ttl=30)
    assert not await store.acquire_lease("mail", "host:2", ttl=30)
    assert await store.acquire_lease("mail", "host:1", ttl=30)  # renewal
    await store.release_lease("mail", "host:1")
    assert await store.acquire_lease("mail", "host:2", ttl=0.01)
    await asyncio.sleep(0.05)
    assert await store.acquire_lease("mail", "host:1", ttl=30)  # expired: taken over


async def test_change_token_moves_on_other_connections_commits(
    store: Store, store_location: str | Path
) -> None:
    before = await store.change_token()
    other = await connect(store_location, agent="bob")
    await other.ingest("mail", [inbound()])
    await other.close()
    # SQLite sees the commit at once; PostgreSQL's notice arrives on its own connection a
    # moment later (the console watches for it), so it is waited for (its latency is
    # bench/store_backends.py's figure, not this test's).
    deadline = asyncio.get_running_loop().time() + 5
    while await store.change_token() == before:
        assert asyncio.get_running_loop().time() < deadline, "the commit was not seen"
        await asyncio.sleep(0.005)


async def test_our_reply_echoed_by_the_channel_before_mark_sent_shows_once(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound(external_id="<q@x>")])).created[0]
    await store.queue_reply(conversation, "Here you go")
    [item] = await store.claim_due_replies("mail")
    # The Sent folder / room sync delivers our own reply before the sender records its id.
    echo = inbound(
        "Here you go", external_id="<reply@acme>", from_agent=True, references=("<q@x>",), minutes=1
    )
    await store.ingest("mail", [echo])
    await store.mark_sent(item.id, "<reply@acme>")
    detail = await store.conversation(conversation)
    assert [(m.direction, m.state) for m in detail.messages] == [("in", None), ("out", "sent")]
    assert detail.row.message_count == 2
    assert [h.direction for h in await store.search("here you go")] == ["out"]
    # Fetching the echo again is recognised as already stored.
    assert (await store.ingest("mail", [echo])).duplicates == 1


def test_an_unclosed_store_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    script = (
        "import asyncio\nfrom agentconsole.store import Store, connect\n"
        f"async def main():\n    await connect({str(tmp_path / 's.db')!r}, agent='a')\n"
        "    raise SystemExit(7)\nasyncio.run(main())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=30)
    assert result.returncode == 7


async def test_a_reply_sent_meanwhile_by_another_agent_is_a_collision(
    store: Store, store_location: str | Path
) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    seen = (await store.conversation(conversation)).messages[-1].id
    await store.queue_reply(conversation, "my own first answer", seen_up_to=seen)
    bob = await connect(store_location, agent="bob")
    await bob.save_draft(conversation, "reply", "Hi Ada, bob here")
    assert [(d.agent, d.kind) for d in await store.others_writing(conversation)] == [
        ("bob", "reply")
    ]
    await bob.queue_reply(conversation, "Hi Ada, bob here")
    await bob.close()
    with pytest.raises(ConflictError, match="bob replied"):
        await store.queue_reply(conversation, "Hi Ada, alice here", seen_up_to=seen)
    bodies = [m.body for m in (await store.conversation(conversation)).messages]
    assert "Hi Ada, alice here" not in bodies
    await store.queue_reply(conversation, "Hi Ada, alice here")  # sent anyway, knowingly
    assert await store.others_writing(conversation) == []


async def test_search_says_which_word_holds_nothing_to_find(store: Store) -> None:
    await store.ingest("mail", [inbound("Please refund order 42")])
    assert len(await store.search("refund order")) == 1
    for query, token in (("refund #", "'#'"), ("order ?", "'?'")):
        with pytest.raises(QueryError, match=token) as raised:
            await store.search(query)
        assert raised.value.query == query  # the error points into what was typed


async def test_search_words_are_exact_unless_starred_and_newest_first(store: Store) -> None:
    for minutes, body in (
        (0, "my subscription renewed twice"),
        (5, "subscribe me please"),
        (10, "Café crème subscription"),
    ):
        await store.ingest("mail", [inbound(body, minutes=minutes)])
    assert [h.snippet for h in await store.search("subscription")] == [
        "Café crème subscription",
        "my subscription renewed twice",
    ]
    assert len(await store.search("subscr")) == 0
    assert len(await store.search("subscr*")) == 3
    assert len(await store.search("cafe creme")) == 1  # accents folded
    ids = await store.conversation_ids(View("search", "subscri"))  # as you type: a prefix
    assert len(ids) == 3


async def test_out_of_range_values_are_usage_errors_naming_the_valid_ones(store: Store) -> None:
    conversation = (await store.ingest("mail", [inbound()])).created[0]
    with pytest.raises(UsageError, match="0 \\(urgent\\) to 3 \\(low\\)"):
        await store.set_priority(conversation, 7)
    with pytest.raises(UsageError, match="reply or a note"):
        await store.save_draft(conversation, "memo", "text")
    with pytest.raises(NotFoundError):
        await store.save_draft(99999, "reply", "text")
    with pytest.raises(UsageError, match="email, chat, forum"):
        await store.ensure_channel("web", "demo", "website")
    assert (await store.conversation(conversation)).row.priority == 2
