"""The hotlist's order and the query fields it and Needs attention read: is:answered (the
customer wrote after your reply) and is:broken (the channel is in error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentconsole import hotlist
from agentconsole.models import Change, View
from agentconsole.query import parse
from agentconsole.store import Store, connect
from agentconsole.store.compile_query import compile_query
from agentconsole.store.db import Db
from tests.conftest import inbound


async def test_answered_comes_before_the_longest_waiting_unassigned(
    store: Store, store_location: str | Path
) -> None:
    def customer(name: str, minutes: float, **fields: object):  # type: ignore[no-untyped-def]
        return inbound(name=name, email=f"{name}@x.example", minutes=minutes, **fields)

    oldest = (await store.ingest("mail", [customer("oldest", 0)])).created[0]
    newer = (await store.ingest("mail", [customer("newer", 30)])).created[0]
    answered = (
        await store.ingest("mail", [customer("answered", 10, external_id="<a1@x>")])
    ).created[0]
    await store.apply([answered], Change("assign", assignee="alice"))
    await store.queue_reply(answered, "Which browser?")
    await store.run_sync(
        lambda conn: conn.execute(
            "UPDATE messages SET sent_at = (SELECT sent_at + 60 FROM messages WHERE"
            " external_id = '<a1@x>') WHERE direction = 'out'"
        )
    )
    await store.ingest(
        "mail", [customer("answered", 40, external_id="<a2@x>", references=("<a1@x>",))]
    )
    found = await hotlist.read(store)
    assert [row.id for row, _ in found.entries] == [answered, oldest, newer]
    assert found.entries[0][1] == "the customer answered your reply"
    assert found.first(skip=[answered])[0].id == oldest  # type: ignore[index]
    # For another agent, alice's reply answered is not theirs.
    bob = await connect(store_location, agent="bob")
    try:
        assert await bob.find(parse("is:answered")) == []
    finally:
        await bob.close()
    assert [r.id for r in await store.find(parse("is:answered"))] == [answered]


async def test_the_sla_hook_is_a_step_that_comes_first(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = (await store.ingest("mail", [inbound(name="a", email="a@x.example")])).created[0]
    urgent = (
        await store.ingest("mail", [inbound(name="b", email="b@x.example", minutes=5)])
    ).created[0]
    await store.apply([urgent], Change("priority", rank=0))
    monkeypatch.setattr(hotlist, "SLA_QUERY", "priority:urgent")  # stands in for "sla:<30m"
    found = await hotlist.read(store)
    assert [row.id for row, _ in found.entries] == [urgent, first]
    assert found.entries[0][1] == "its SLA is about to breach"


async def test_is_broken_and_needs_attention(store: Store) -> None:
    mail = (await store.ingest("mail", [inbound()])).created[0]
    chat = (
        await store.ingest("chat", [inbound(name="c", email="c@x.example", thread_key="r1")])
    ).created[0]
    assert await store.conversation_ids(View("attention")) == []
    await store.set_health("chat", "error", "login refused")
    assert [r.id for r in await store.find(parse("is:broken"))] == [chat]
    await store.save_draft(mail, "reply", "half written")
    assert set(await store.conversation_ids(View("attention"))) == {mail, chat}
    rows = await store.queue_rows([mail, chat])
    assert rows[mail].draft and not rows[chat].draft


@pytest.mark.sqlite_only
async def test_answered_probes_the_agents_replies_not_every_message(store: Store) -> None:
    """Each waiting conversation is checked with one probe of the index of agents' replies
    (migration 020): reading its messages instead cost 0.3-0.4 s at 100,000 conversations
    on every hotlist read."""

    def plan(conn: Db) -> list[str]:
        compiled = compile_query(parse("is:answered"), agent="alice", now=0.0, dialect=conn.dialect)
        sql = f"SELECT c.id FROM conversations c WHERE {compiled.where}"
        return [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", compiled.params)]

    steps = await store.run_sync(plan)
    probes = [step for step in steps if step.startswith("SEARCH m ")]
    assert probes == [
        "SEARCH m USING COVERING INDEX messages_agent_replies"
        " (agent=? AND conversation_id=? AND sent_at<?)"
    ], steps
