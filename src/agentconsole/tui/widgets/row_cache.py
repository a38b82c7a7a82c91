"""The queue's rows as far as they are known: fetched in windows, kept in Textual's
:class:`~textual.cache.LRUCache` (the Toolong technique)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from textual.cache import LRUCache

from ...models import ConversationRow

RowFetcher = Callable[[Sequence[int]], Awaitable[dict[int, ConversationRow]]]


class RowCache:
    """At most ``size`` rows. A row is *fresh* when it was fetched since the last
    :meth:`invalidate`; a stale one still shows and is fetched again when seen. An id the
    store returned no row for (deleted since) is not asked for again until invalidated."""

    def __init__(self, size: int) -> None:
        self._rows: LRUCache[int, ConversationRow] = LRUCache(size)
        self._fresh: set[int] = set()
        self._missing: set[int] = set()
        #: Bumped by :meth:`invalidate`; a fetch started before it stores its rows as stale.
        self.generation = 0

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, conversation_id: int) -> ConversationRow | None:
        return self._rows.get(conversation_id)

    def needs_fetch(self, conversation_id: int) -> bool:
        """Whether the row must be fetched: never fetched, evicted, or stale."""
        if conversation_id in self._missing:
            return False
        return conversation_id not in self._fresh or self._rows.get(conversation_id) is None

    def invalidate(self) -> None:
        self.generation += 1
        self._fresh.clear()
        self._missing.clear()

    def put(
        self,
        ids: Sequence[int],
        rows: Mapping[int, ConversationRow],
        generation: int | None = None,
    ) -> bool:
        """Keep the ``rows`` fetched for ``ids`` (in the ``generation`` the fetch started
        in; default the current one). Returns whether they count as fresh."""
        for conversation_id, row in rows.items():
            # LRUCache.set keeps the value of a key it holds: a changed row must replace it.
            self._rows.discard(conversation_id)
            self._rows.set(conversation_id, row)
        fresh = generation is None or generation == self.generation
        if fresh:
            self._fresh.update(ids)
            self._missing.update(i for i in ids if i not in rows)
        return fresh


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a window's fetch brought: whether its rows are fresh, and the ids whose row
    differs from the one shown before (new, changed or gone): only their lines repaint."""

    fresh: bool
    changed: frozenset[int]


class RowWindows:
    """Which windows of ``window`` ids are wanted and which are being fetched, over a
    :class:`RowCache`. The owner schedules :meth:`fetch` for each of :meth:`take_wanted`."""

    def __init__(self, fetch_rows: RowFetcher, window: int, cache: RowCache) -> None:
        self._fetch_rows = fetch_rows
        self.window = window
        self.cache = cache
        self._wanted: set[int] = set()
        self._loading: set[int] = set()

    def want(self, index: int) -> None:
        """The row at ``index`` of the index is needed: its window is wanted."""
        start = index - index % self.window
        if start not in self._loading:
            self._wanted.add(start)

    def take_wanted(self) -> list[int]:
        """The window starts to fetch now (they count as loading from here on)."""
        starts = sorted(self._wanted - self._loading)
        self._wanted.clear()
        self._loading.update(starts)
        return starts

    async def fetch(self, start: int, ids: Sequence[int]) -> Fetched:
        """Fetch the rows of ``ids`` (the window at ``start``) into the cache; says whether
        they are fresh (no :meth:`RowCache.invalidate` came in between) and which rows
        changed. Raises what the fetcher raises."""
        generation = self.cache.generation
        try:
            rows = await self._fetch_rows(ids)
        finally:
            self._loading.discard(start)
        get = self.cache.get
        changed = frozenset(i for i in ids if rows.get(i) != get(i))
        return Fetched(self.cache.put(ids, rows, generation), changed)
