"""A first screen in queue order (top N, as views and ``list`` ask for it) has two plans: the
smaller side's list drives (a rare word's matches, a rare tag's rows) and the rows are sorted,
or the queue's order index is walked with every term checked on each walked conversation
(a common tag's list probed, common words checked in the conversation's messages). The
compiler picks one from sizes; whichever it picks, the same conversations come, in the same
order — on a store mixing what a plan could get wrong: the word only in an older message or
in one merged in, spam, merged-away and closed conversations, negations and OR groups."""

from __future__ import annotations

import pytest

from agentconsole.query import parse
from agentconsole.store import Store
from agentconsole.store.compile_query import (
    TAG_HELD,
    TAG_ROWS,
    WALK_ORDER_FROM,
    compile_query,
    row_counter,
)
from agentconsole.store.db import Db
from agentconsole.store.queries import QUEUE_ORDER
from tests.conftest import BASE_TIME, inbound

NOW = BASE_TIME.timestamp() + 86400


@pytest.fixture
async def mixed(store: Store) -> dict[str, int]:
    """Conversations named for what sets them apart (their ids)."""
    ids: dict[str, int] = {}
    minutes = iter(range(0, 10_000, 7))

    async def add(key: str, *bodies: str, tag: str | None = "billing", rank: int = 1) -> None:
        messages = [inbound(body, thread_key=key, minutes=next(minutes)) for body in bodies]
        ids[key] = (await store.ingest("mail", messages)).created[0]
        if tag:
            await store.retag(ids[key], [tag])
        await store.set_priority(ids[key], rank)

    await add("older_message", "Please refund my order.", "Any news?", "Hello again.")
    await add("urgent", "Nothing yet.", "I still want a refund.", rank=0)
    await add("no_word", "My invoice is wrong.")
    await add("other_tag", "A refund, please.", tag="vip")
    await add("normal", "Refund me.", rank=2)
    await add("closed", "refund?")
    await add("spam", "REFUND NOW cheap pills")
    await add("kept", "Hello, a question about my plan.")
    await add("merged_away", "About that plan: I want a refund.", tag=None)
    await store.set_status(ids["closed"], "closed")
    await store.set_spam([ids["spam"]])
    await store.merge_conversations(ids["kept"], ids["merged_away"])  # the word moves in
    return ids


#: The plans: (field terms and tags walked in queue order, words checked row by row).
PLANS = [(False, False), (False, True), (True, False), (True, True)]


async def first_rows(store: Store, query: str, *, walk: bool, common: bool) -> list[int]:
    """The first 50 in queue order, with the sizes that make the compiler walk (or list)
    the fields and tags, and check (or list) the words."""

    def run(conn: Db) -> list[int]:
        compiled = compile_query(
            parse(query),
            agent="alice",
            now=NOW,
            dialect=conn.dialect,
            estimate=lambda expression: 10**9 if common else 0,
            rows=lambda condition, params, source="": 10**9 if walk else 0,
        )
        sql = (
            f"SELECT c.id FROM conversations c WHERE {compiled.where}"
            f" ORDER BY {QUEUE_ORDER} LIMIT 50"
        )
        return [row[0] for row in conn.execute(sql, compiled.params)]

    return await store.run_sync(run)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "refund tag:billing priority:>=high",
            {"older_message", "urgent", "closed", "kept"},
        ),
        ("refund tag:billing", {"older_message", "urgent", "closed", "kept", "normal"}),
        ("refund tag:billing status:open priority:>=high", {"older_message", "urgent", "kept"}),
        ("-refund tag:billing priority:>=high", {"no_word"}),
        ("refund -tag:billing", {"other_tag"}),
        ("refund tag:billing -priority:>=high", {"normal"}),
        (
            "(refund OR invoice) tag:billing priority:>=high",
            {"older_message", "urgent", "closed", "kept", "no_word"},
        ),
        (
            "refund (tag:vip OR priority:urgent)",
            {"other_tag", "urgent"},
        ),
        ('"my order" tag:billing', {"older_message"}),
        ("tag:billing", {"older_message", "urgent", "no_word", "normal", "closed", "kept"}),
        (
            "tag:billing -status:closed priority:>=high",
            {"older_message", "urgent", "no_word", "kept"},
        ),
        ("refund tag:billing tag:vip", set()),
        (
            "refund tag:billing OR tag:vip",
            {"older_message", "urgent", "closed", "kept", "normal", "other_tag"},
        ),
        ("is:spam refund tag:billing", {"spam"}),
    ],
)
async def test_every_plan_gives_the_same_first_screen(
    store: Store, mixed: dict[str, int], query: str, expected: set[str]
) -> None:
    by_id = {conversation: key for key, conversation in mixed.items()}
    screens = {plan: await first_rows(store, query, walk=plan[0], common=plan[1]) for plan in PLANS}
    for plan, screen in screens.items():
        assert {by_id[i] for i in screen} == expected, f"{query} (walk, common) = {plan}"
        assert screen == screens[PLANS[0]], f"{query}: another order with {plan}"
    # and as the store runs it, sizing the terms itself
    found = await store.find(parse(query), limit=50)
    assert [row.id for row in found] == screens[PLANS[0]]


def _plan(conn: Db, query: str, *, tag_rows: int) -> list[str]:
    """SQLite's plan for the first screen of ``query``, its words common, its tag holding
    ``tag_rows`` conversations and every other field many."""

    def rows(condition: str, params: tuple[object, ...], source: str = "") -> int:
        return tag_rows if source == TAG_ROWS else 10**9

    compiled = compile_query(
        parse(query),
        agent="alice",
        now=NOW,
        dialect=conn.dialect,
        estimate=lambda expression: 10**9,
        rows=rows,
    )
    sql = f"SELECT c.id FROM conversations c WHERE {compiled.where} ORDER BY {QUEUE_ORDER} LIMIT 50"
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", compiled.params)]


@pytest.mark.sqlite_only
async def test_a_common_tag_beside_common_words_walks_the_queue_order(
    store: Store, mixed: dict[str, int]
) -> None:
    def plans(conn: Db) -> dict[str, list[str]]:
        return {
            "common tag": _plan(conn, "refund tag:billing priority:>=high", tag_rows=10**9),
            "rare tag": _plan(conn, "refund tag:billing priority:>=high", tag_rows=3),
            "two tags": _plan(conn, "refund tag:billing tag:vip", tag_rows=10**9),
        }

    found = await store.run_sync(plans)
    common = found["common tag"]
    # the order index walked from the first high-priority row, no sort, the tag probed
    assert common[0].startswith("SEARCH c USING COVERING INDEX conversations_queue_order_any")
    assert "USE TEMP B-TREE FOR ORDER BY" not in common, common
    assert "SEARCH conversation_tags USING COVERING INDEX conversation_tags_tag (tag=?)" in common
    # a rare tag's few rows drive, and are sorted; so do two tags' lists
    for key in ("rare tag", "two tags"):
        assert found[key][0] == "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)", found[key]
        assert "USE TEMP B-TREE FOR ORDER BY" in found[key], found[key]


@pytest.mark.sqlite_only
async def test_a_tag_is_sized_from_its_own_rows(store: Store, mixed: dict[str, int]) -> None:
    def sizing(conn: Db) -> tuple[int, list[str]]:
        counted = row_counter(conn)(TAG_HELD, ("billing",), TAG_ROWS)
        sql = f"SELECT 1 FROM {TAG_ROWS} WHERE {TAG_HELD} LIMIT ?"
        plan = [
            r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("billing", WALK_ORDER_FROM))
        ]
        return counted, plan

    counted, plan = await store.run_sync(sizing)
    assert counted == 6  # the spam one left out
    assert any("COVERING INDEX conversation_tags_counted" in step for step in plan), plan
