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


async def _working_day(store: Store) -> None:
    """Twelve conversations in every state a sidebar view tells apart."""
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


@pytest.mark.sqlite_only
async def test_no_sidebar_count_reads_every_conversation(store: Store) -> None:
    await _working_day(store)
    definitions = _sidebar(["mail", "chat"], await store.tags())

    def plans(conn: Db) -> dict[str, list[str]]:
        found = {}
        for definition in definitions:
            sql, params = queries.count_statement(
                conn, parse(definition.query), "alice", time.time(), hide_spam=True
            )
            found[definition.key] = [
                r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            ]
        return found

    for key, plan in (await store.run_sync(plans)).items():
        conversations = [s for s in plan if s == "SCAN c" or s.startswith(("SCAN c ", "SEARCH c "))]
        assert not [step for step in conversations if step.startswith("SCAN")], f"{key}: {plan}"
        if not key.startswith("tag:"):  # a tag's own list drives, then each row is read
            reading_rows = [s for s in conversations if "USING INDEX" in s and "COVERING" not in s]
            assert not reading_rows, f"{key} reads each conversation's row: {plan}"
