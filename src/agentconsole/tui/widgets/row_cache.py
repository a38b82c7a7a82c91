"""The queue's rows as far as they are known: fetched in windows, kept in Textual's
:class:`~textual.cache.LRUCache` (the Toolong technique)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.cache import LRUCache

from ...models import ConversationRow


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
            self._rows.set(conversation_id, row)
        fresh = generation is None or generation == self.generation
        if fresh:
            self._fresh.update(ids)
            self._missing.update(i for i in ids if i not in rows)
        return fresh
