"""The query language against a hand-made store: each field, negation, OR, times relative
to a fixed clock. What a query selects is what the agent sees in every view."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentconsole.plugin import Attachment, Identity
from agentconsole.query import parse
from agentconsole.store import Store
from agentconsole.store.compile_query import compile_query
from agentconsole.store.db import Db
from tests.conftest import BASE_TIME, inbound

#: The clock the queries are read at: two hours after the last message below.
NOW = BASE_TIME + timedelta(hours=30)


@pytest.fixture
async def cases(store: Store) -> dict[str, int]:
    """Five conversations, each with something that sets it apart."""
    ids: dict[str, int] = {}

    async def add(key: str, channel: str, *messages: object) -> None:
        report = await store.ingest(channel, list(messages))  # type: ignore[arg-type]
        ids[key] = report.created[0]

    await add(
        "refund",
        "mail",
        inbound(
            "I was charged twice for my order, please refund.",
            subject="Refund for order 1182",
            minutes=0,
            participants=(Identity("email", "billing@acme.example"),),
        ),
    )
    await add(
        "crash",
        "mail",
        inbound(
            "The app crashes on start. Screenshot attached.",
            subject="Crash on start",
            name="Grace Hopper",
            email="grace@navy.example",
            minutes=60,
            attachments=(Attachment("shot.png", "image/png", b"\x89PNG fake"),),
        ),
    )
    await add(
        "chat",
        "chat",
        inbound(
            "hi, is the café open on sunday?",
            name="Linus",
            email=None,
            identities=(Identity("chat", "visitor-7"),),
            thread_key="chat-7",
            minutes=24 * 60,
        ),
    )
    await add(
        "closed",
        "mail",
        inbound(
            "Thanks, all good now.",
            subject="Password reset",
            name="Alan Turing",
            email="alan@bletchley.example",
            minutes=26 * 60,
        ),
    )
    await add(
        "vip",
        "mail",
        inbound(
            "Our whole team cannot log in.",
            subject="Login outage",
            name="Ada Lovelace",
            email="ada@example.com",
            minutes=28 * 60,
            thread_key="second",
        ),
    )
    await store.set_status(ids["closed"], "closed")
    await store.assign(ids["crash"], "alice")
    await store.assign(ids["vip"], "bob")
    await store.retag(ids["vip"], ["vip", "outage"])
    await store.set_priority(ids["vip"], 0)
    await store.set_priority(ids["refund"], 1)
    await store.save_draft(ids["chat"], "reply", "Yes, we open at 10.")
    return ids


async def select(
    store: Store, query: str, *, common_words: bool = False, walk_order: bool = False
) -> set[int]:
    """The ids ``query`` selects; with ``common_words`` every word is taken as common, so
    the row-by-row full-text form is used instead of the listed one; with ``walk_order``
    every field condition is taken as matching many rows (kept off its index)."""

    def run(conn: Db) -> list[tuple[int]]:
        compiled = compile_query(
            parse(query, now=NOW),
            agent="alice",
            now=NOW.timestamp(),
            dialect=conn.dialect,
            estimate=(lambda expression: 10**9) if common_words else None,
            rows=(lambda condition, params, source="": 10**9) if walk_order else None,
        )
        return conn.execute(
            f"SELECT c.id FROM conversations c WHERE {compiled.where}", compiled.params
        ).fetchall()

    return {row[0] for row in await store.run_sync(run)}


async def names(store: Store, cases: dict[str, int], query: str) -> set[str]:
    by_id = {v: k for k, v in cases.items()}
    listed = await select(store, query)
    assert await select(store, query, common_words=True) == listed  # both forms agree
    assert await select(store, query, walk_order=True) == listed
    return {by_id[i] for i in listed}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"refund", "crash", "chat", "closed", "vip"}),
        ("refund", {"refund"}),
        ("cafe", {"chat"}),  # accents and case ignored
        ('"charged twice"', {"refund"}),
        ('"twice charged"', set()),
        ("crash*", {"crash"}),
        ("subject:refund", {"refund"}),
        ("subject:crashes", set()),  # in the body, not the subject
        ("from:ada@example.com", {"refund", "vip"}),
        ("from:@navy.example", {"crash"}),
        ("from:turing", {"closed"}),
        ("from:linus", {"chat"}),
        ("to:billing@acme.example", {"refund"}),
        ("to:@acme.example", {"refund"}),
        ("contact:grace@navy.example", {"crash"}),
        ("channel:chat", {"chat"}),
        ("type:chat", {"chat"}),
        ("type:email -status:closed", {"refund", "crash", "vip"}),
        ("status:closed", {"closed"}),
        ("status:any", {"refund", "crash", "chat", "closed", "vip"}),
        ("tag:vip", {"vip"}),
        ("tag:VIP", {"vip"}),
        ("assignee:me", {"crash"}),
        ("assignee:bob", {"vip"}),
        ("assignee:none", {"refund", "chat", "closed"}),
        ("-assignee:bob", {"refund", "crash", "chat", "closed"}),  # unassigned included
        ("is:unassigned", {"refund", "chat", "closed"}),
        ("is:mine", {"crash"}),
        ("priority:urgent", {"vip"}),
        ("priority:>=high", {"vip", "refund"}),
        ("priority:<high", {"crash", "chat", "closed"}),
        ("has:attachment", {"crash"}),
        ("has:draft", {"chat"}),
        ("is:waiting", {"refund", "crash", "chat", "vip"}),
        ("waiting:>24h", {"refund", "crash"}),
        ("waiting:<3h", {"vip"}),
        ("-waiting:>24h", {"chat", "closed", "vip"}),
        ("age:<3h", {"vip"}),
        ("age:>29h", {"refund"}),
        ("after:2026-11-21", {"chat", "closed", "vip"}),
        ("before:2026-11-21", {"refund", "crash"}),
        ("tag:vip OR has:attachment", {"vip", "crash"}),
        ("(tag:vip OR has:attachment) assignee:me", {"crash"}),
        ("-(tag:vip OR has:attachment) -status:closed", {"refund", "chat"}),
        ("refund OR crash", {"refund", "crash"}),
        ("-refund -status:closed", {"crash", "chat", "vip"}),
        ("login from:ada@example.com", {"vip"}),
        ("#3", {"chat"}),
        ("id:1 OR id:2", {"refund", "crash"}),
    ],
)
async def test_each_field(
    store: Store, cases: dict[str, int], query: str, expected: set[str]
) -> None:
    assert await names(store, cases, query) == expected


async def test_me_is_whoever_runs_the_query(store: Store, cases: dict[str, int]) -> None:

    def run(conn: Db) -> list[tuple[int]]:
        compiled = compile_query(
            parse("is:mine"), agent="bob", now=NOW.timestamp(), dialect=conn.dialect
        )
        return conn.execute(
            f"SELECT c.id FROM conversations c WHERE {compiled.where}", compiled.params
        ).fetchall()

    rows = await store.run_sync(run)
    assert {r[0] for r in rows} == {cases["vip"]}


async def test_hostile_values_stay_values(store: Store, cases: dict[str, int]) -> None:
    for query in ('tag:"x\' OR 1=1 --"', 'from:"%"', "from:_", 'subject:"NEAR(a b)"', '"AND"'):
        assert await select(store, query) == set(), query
