"""The queue's row cache: a row pushed out of the cache is fetched again when seen, a
conversation deleted since is not asked for in a loop, and a fetch overtaken by a change
does not count as fresh; a row fetched again replaces the one kept."""

from __future__ import annotations

from dataclasses import replace

from agentconsole.tui.widgets.row_cache import RowCache, RowWindows

from .seed import NOW_TS


def row(conversation_id: int):  # a ConversationRow with only what the cache looks at
    from agentconsole.models import ConversationRow

    return ConversationRow(
        conversation_id, "support", "email", "open", 2, None, 1, "Carol", "Hi", "", (),
        NOW_TS, NOW_TS, NOW_TS, None, None, 1,
    )  # fmt: skip


def test_an_evicted_row_is_fetched_again_and_a_deleted_one_is_not() -> None:
    cache = RowCache(2)
    assert cache.put([1, 2, 3, 4], {1: row(1), 2: row(2), 3: row(3)})
    assert cache.get(1) is None and cache.needs_fetch(1)  # evicted: fetch again
    assert cache.get(3) is not None and not cache.needs_fetch(3)
    assert not cache.needs_fetch(4)  # the store had no row: deleted, not asked for again
    cache.invalidate()
    assert cache.needs_fetch(3) and cache.get(3) is not None  # stale: shown, fetched again
    assert cache.needs_fetch(4)


async def test_a_fetch_overtaken_by_a_change_is_kept_but_stale() -> None:
    cache = RowCache(10)

    async def fetch(ids):
        cache.invalidate()  # a change arrives while the window is being read
        return {i: row(i) for i in ids}

    windows = RowWindows(fetch, 5, cache)
    windows.want(7)
    windows.want(8)
    assert windows.take_wanted() == [5]
    windows.want(6)  # already loading: not wanted twice
    assert windows.take_wanted() == []
    assert not (await windows.fetch(5, [5, 6, 7])).fresh
    assert cache.get(7) is not None and cache.needs_fetch(7)


def test_a_row_fetched_again_replaces_the_one_kept() -> None:
    cache = RowCache(10)
    cache.put([1], {1: row(1)})
    changed = replace(row(1), subject="changed since")
    cache.put([1], {1: changed})
    assert cache.get(1) == changed
