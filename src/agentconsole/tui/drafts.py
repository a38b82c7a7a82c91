"""Drafts typed in the composer and not yet written to the store.

The composer reports every change; the buffer keeps the newest text per (conversation,
kind) and the app writes it out shortly after typing stops, on leaving the composer and on
quit, so an unsent draft survives closing the conversation or the app.

It also remembers, per draft, the saved replies inserted into it (:class:`DraftMacro`):
their macro actions (tags, status) apply when the draft is sent. They are written with the
draft's text, so they are there after a restart too; a draft this session has not touched
keeps the ones the store has.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from ..models import DraftMacro


class DraftStore(Protocol):
    async def save_draft(
        self,
        conversation_id: int,
        kind: str,
        body: str,
        *,
        macros: Sequence[DraftMacro] | None = None,
    ) -> None: ...


class DraftBuffer:
    def __init__(self) -> None:
        self._pending: dict[tuple[int, str], str] = {}
        self._inserted: dict[tuple[int, str], tuple[DraftMacro, ...]] = {}
        self._lock = asyncio.Lock()

    def keep(self, conversation_id: int, kind: str, body: str) -> None:
        self._pending[(conversation_id, kind)] = body

    def get(self, conversation_id: int, kind: str) -> str | None:
        """The newest unsaved text, or ``None`` if the store has the latest."""
        return self._pending.get((conversation_id, kind))

    def forget(self, conversation_id: int, kind: str) -> None:
        self._pending.pop((conversation_id, kind), None)

    def keep_inserted(
        self, conversation_id: int, kind: str, replies: tuple[DraftMacro, ...]
    ) -> None:
        """The saved replies inserted into this draft so far (their actions apply on send)."""
        self._inserted[(conversation_id, kind)] = replies

    def inserted(self, conversation_id: int, kind: str) -> tuple[DraftMacro, ...]:
        return self._inserted.get((conversation_id, kind), ())

    def knows_inserted(self, conversation_id: int, kind: str) -> bool:
        """Whether this session knows the draft's saved replies (else the store has them)."""
        return (conversation_id, kind) in self._inserted

    def sent(self, conversation_id: int, kind: str) -> None:
        """The draft went out: its inserted replies' actions were applied with it."""
        self._inserted.pop((conversation_id, kind), None)

    async def flush(self, store: DraftStore) -> None:
        """Write every pending draft; one that fails stays pending and the error propagates."""
        async with self._lock:
            while self._pending:
                key, body = next(iter(self._pending.items()))
                await store.save_draft(key[0], key[1], body, macros=self._inserted.get(key))
                if self._pending.get(key) == body:
                    del self._pending[key]

    @asynccontextmanager
    async def sending(self, conversation_id: int, kind: str) -> AsyncIterator[None]:
        """Hold while sending: no flush can write the draft back after the store drops it."""
        async with self._lock:
            self.forget(conversation_id, kind)
            yield
