"""The full-text index merged into one piece (``Store.compact_search_index``): words find
the same messages before and after, and on SQLite the index ends in one segment, which
every word lookup then reads instead of one per write transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentconsole.query import parse
from agentconsole.store import Store, search_upkeep
from agentconsole.store.db import Db
from tests.conftest import inbound

WORDS = ("invoice", "refund", "quokka", "invoi*", '"card declined"')


async def _pieces(store: Store) -> int:
    return await store.run_sync(lambda conn: conn.dialect.search_index_pieces(conn))


async def _hits(store: Store) -> dict[str, list[int]]:
    return {word: [h.message_id for h in await store.search(word)] for word in WORDS}


async def _in_pieces(store: Store) -> None:
    """Twelve write transactions, each adding a piece to the SQLite index."""
    bodies = ["My invoice is wrong.", "A refund, please.", "The card declined twice."]
    for n in range(12):
        body = bodies[n % 3] + (" A quokka ate it." if n == 7 else "")
        await store.ingest("mail", [inbound(body, thread_key=f"t{n}", minutes=n)])


async def test_a_merged_index_finds_what_it_found(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    await _in_pieces(store)
    before = await _hits(store)
    assert len(before["invoice"]) == 4 and len(before["quokka"]) == 1
    monkeypatch.setattr(search_upkeep, "MERGE_FROM", 2)
    started = False
    for _ in range(50):
        if not await store.compact_search_index(started=started):
            break
        started = True
    assert await _hits(store) == before
    assert await store.compact_search_index() is False  # nothing left to do
    # Still one index: a new message is found beside the merged ones.
    await store.ingest("mail", [inbound("Another invoice question.", thread_key="new")])
    assert len((await _hits(store))["invoice"]) == 5
    assert len(await store.find(parse("invoice"))) == 5


@pytest.mark.sqlite_only
async def test_the_sqlite_index_ends_in_one_segment(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    await _in_pieces(store)
    pieces = await _pieces(store)
    assert pieces > 1
    # Below MERGE_FROM nothing is merged (a merge rewrites the whole index).
    monkeypatch.setattr(search_upkeep, "MERGE_FROM", pieces + 1)
    assert await store.compact_search_index() is False
    assert await _pieces(store) == pieces
    monkeypatch.setattr(search_upkeep, "MERGE_FROM", pieces)
    more = await store.compact_search_index()
    for _ in range(20):
        if not more:
            break
        more = await store.compact_search_index(started=True)
    assert await _pieces(store) == 1


@pytest.mark.sqlite_only
async def test_a_step_does_a_bounded_amount_of_work(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With a page budget smaller than the index, a merge takes several steps, each its
    own write transaction (other writers go between them)."""
    for n in range(40):
        text = " ".join(f"word{n}x{i}" for i in range(300))
        await store.ingest("mail", [inbound(text, thread_key=f"b{n}", minutes=n)])
    monkeypatch.setattr(search_upkeep, "MERGE_FROM", 2)

    def step(started: bool) -> Callable[[Db], bool]:
        return lambda conn: search_upkeep.compact_step(conn, started=started, pages=4)

    results = [await store.run_sync(step(False))]
    while results[-1] and len(results) < 500:
        results.append(await store.run_sync(step(True)))
    assert results[-1] is False and len(results) > 2, results
    assert await _pieces(store) == 1
    assert len(await store.search("word17x5")) == 1
