"""The sidebar's counts: the same numbers as listing each view, with spam, tags, drafts
and statuses mixed, on every backend; and on SQLite, a plan that reads an index for each
(the counts refresh after every change, so one full scan would be felt at once)."""

from __future__ import annotations

import time

import pytest

from agentconsole import views
from agentconsole.query import parse
from agentconsole.store import Store, queries
from agentconsole.store.db import Db
from tests.conftest import inbound


async def _working_day(store: Store) -> list[int]:
    """Twelve conversations in every state a sidebar view tells apart (their ids)."""
    created = (
        await store.ingest(
            "mail",
            [inbound(f"message {n}", thread_key=f"t{n}", minutes=n) for n in range(12)],
        )
    ).created
    for n, conversation in enumerate(created):
        if n % 4 == 1:
            await store.set_status(conversation, "pending")
        if n % 4 == 2:
            await store.set_status(conversation, "closed")
        if n % 3 == 0:
            await store.assign(conversation, "alice", force=True)
        if n % 2 == 0:
            await store.retag(conversation, ["vip"])
        if n in (5, 9):
            await store.retag(conversation, ["billing"])
        if n == 7:
            await store.save_draft(conversation, "reply", "a draft")
    # spam among open, pending, tagged and assigned ones
    await store.set_spam([created[0], created[1], created[4]])
    return list(created)


def _sidebar(channels: list[str], tags: list[str]) -> list[views.ViewDefinition]:
    return [*views.sidebar([], [], channels, tags), views.SPAM]


async def test_every_sidebar_count_is_the_number_its_view_lists(store: Store) -> None:
    await _working_day(store)
    definitions = _sidebar(["mail", "chat"], await store.tags())
    counts = await store.count({d.key: parse(d.query) for d in definitions})
    listed = {d.key: len(await store.find(parse(d.query))) for d in definitions}
    assert counts == listed
    # and the states are there to tell apart: spam left out of the rest, and counted
    assert counts["spam"] == 3
    assert counts["tag:vip"] == 1  # of 0, 2, 4, 6, 8, 10: three closed, two spam
    assert counts["attention"] == 1
    assert counts["open"] == 4


#: Saved views around a tag: counted from the tag's rows (a tag with statuses) or as any
#: other query (a tag with more terms), each the number its view lists.
TAG_QUERIES = (
    "tag:vip",
    "tag:vip status:closed",
    "tag:vip status:any",
    "tag:VIP (status:pending OR status:closed) status:closed",
    "tag:billing status:open status:pending",
    "tag:vip -status:closed",
    "tag:vip assignee:alice",
    "tag:vip OR tag:billing",
    "tag:vip tag:billing",
    "tag:vip is:spam",
    "tag:nobody",
)


async def test_counts_of_views_around_a_tag_are_what_they_list(store: Store) -> None:
    await _working_day(store)
    nodes = {text: parse(text) for text in TAG_QUERIES}
    counts = await store.count(nodes)
    assert counts == {text: len(await store.find(node)) for text, node in nodes.items()}
    assert counts["tag:vip status:closed"] == 3
    assert counts["tag:vip is:spam"] == 2


async def _counts_and_listed(store: Store) -> tuple[dict[str, int], dict[str, int]]:
    definitions = _sidebar(["mail", "chat"], ["vip", "billing"])
    counts = await store.count({d.key: parse(d.query) for d in definitions})
    listed = {d.key: len(await store.find(parse(d.query))) for d in definitions}
    return counts, listed


def _copies_astray(conn: Db) -> list[tuple[object, ...]]:
    """Tag rows whose copy of their conversation's state differs from it, and
    conversations whose redirect flag differs from the redirect list."""
    tags = conn.execute(
        "SELECT t.conversation_id, t.tag FROM conversation_tags t"
        " JOIN conversations c ON c.id = t.conversation_id"
        " WHERE t.status != c.status OR t.spam != c.spam OR t.redirected != c.redirected"
    ).fetchall()
    flags = conn.execute(
        "SELECT c.id FROM conversations c WHERE c.redirected !="
        " (CASE WHEN c.id IN (SELECT conversation_id FROM conversation_redirects)"
        " THEN 1 ELSE 0 END)"
    ).fetchall()
    return [tuple(row) for row in [*tags, *flags]]


async def test_counts_follow_merges_spam_and_status_changes(store: Store) -> None:
    """The counts read copies of each conversation's state (the redirect flag, the tag
    rows' status and flags): they follow every change a view's list sees."""
    created = await _working_day(store)
    counts, listed = await _counts_and_listed(store)
    assert counts == listed
    pending = counts["pending"]

    # n=5 (pending, billing) merged into n=7 (open): it leaves every view, its tag moves
    merge = await store.merge_conversations(created[7], created[5])
    counts, listed = await _counts_and_listed(store)
    assert counts == listed
    assert counts["pending"] == pending - 1
    assert "billing" in (await store.conversation(created[7])).row.tags

    # the only open vip conversation (n=8) closed, then marked spam, then not spam
    assert counts["tag:vip"] == 1
    await store.set_status(created[8], "closed")
    counts, listed = await _counts_and_listed(store)
    assert counts == listed and counts["tag:vip"] == 0
    await store.set_status(created[8], "open")
    await store.set_spam([created[8]])
    counts, listed = await _counts_and_listed(store)
    assert counts == listed and counts["tag:vip"] == 0
    await store.set_spam([created[8]], spam=False)
    await store.retag(created[3], add=["vip"])
    counts, listed = await _counts_and_listed(store)
    assert counts == listed and counts["tag:vip"] == 2

    # the merge undone: n=5 is back, pending, with its tag
    await store.undo_threading(merge.id)
    counts, listed = await _counts_and_listed(store)
    assert counts == listed
    assert counts["pending"] == pending
    assert await store.run_sync(_copies_astray) == []


@pytest.mark.sqlite_only
async def test_no_sidebar_count_reads_every_conversation(store: Store) -> None:
    await _working_day(store)
    definitions = _sidebar(["mail", "chat"], await store.tags())

    def plans(conn: Db) -> dict[str, list[str]]:
        found = {}
        for definition in definitions:
            sql, params = queries.count_statement(
                conn, parse(definition.query), "alice", time.time()
            )
            found[definition.key] = [
                r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            ]
        return found

    for key, plan in (await store.run_sync(plans)).items():
        conversations = [s for s in plan if s == "SCAN c" or s.startswith(("SCAN c ", "SEARCH c "))]
        assert not [step for step in conversations if step.startswith("SCAN")], f"{key}: {plan}"
        reading_rows = [s for s in conversations if "USING INDEX" in s and "COVERING" not in s]
        assert not reading_rows, f"{key} reads each conversation's row: {plan}"
        if key.startswith("tag:"):  # the tag's own rows, which carry the state counted
            assert plan == [
                "SEARCH t USING COVERING INDEX conversation_tags_counted"
                " (tag=? AND status=? AND spam=? AND redirected=?)"
            ], f"{key}: {plan}"
        elif key != "attention":  # (its few drafts and failures are listed, then read)
            assert "LIST SUBQUERY" not in " ".join(plan) or key.startswith("channel:"), plan
            assert all("COVERING INDEX" in s for s in conversations), f"{key}: {plan}"
