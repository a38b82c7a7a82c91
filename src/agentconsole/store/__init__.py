"""The store: the only place with SQL. Everything else talks to :class:`Store`.

Each method runs one plain function (``queries`` for reads, ``actions`` / ``ingest_sql``
for writes) on aiosqlite's connection thread, so the event loop never waits on SQLite and a
batch costs one thread hop, not one per statement.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from .. import processes
from ..models import (
    AuditEntry,
    ChannelRecord,
    ContactRecord,
    ConversationDetail,
    ConversationRow,
    FollowUp,
    IdentityRecord,
    IngestReport,
    ListFilter,
    OutboxItem,
    SearchHit,
    View,
)
from ..plugin import Attachment, InboundMessage
from ..processes import ProcessIdentity
from . import actions, connection, ingest_sql, queries
from .connection import connect

T = TypeVar("T")

__all__ = ["Store"]


def _writes(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a method as a write: bumps the local change counter that live views watch
    (``PRAGMA data_version`` only sees other connections' commits)."""

    @functools.wraps(method)
    async def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        finally:
            self.local_changes += 1

    return wrapper


class Store:
    """An open store. Create with ``await Store.open(path, agent=...)``; close when done.

    ``agent`` is who every action is recorded as (the Unix user unless config names another).
    """

    def __init__(
        self, db: aiosqlite.Connection, path: Path, agent: str, display_name: str | None = None
    ) -> None:
        self._db = db
        self.path = path
        self.agent = agent
        #: The name customers see on this agent's replies.
        self.display_name = display_name or agent
        self.local_changes = 0
        #: Opened read-only (the file, folder or file system is not writable): reads work,
        #: writes raise :class:`~agentconsole.errors.StoreReadOnlyError`.
        self.read_only = False

    @classmethod
    async def open(cls, path: str | Path, *, agent: str, display_name: str | None = None) -> Store:
        path = Path(path)
        db = aiosqlite.Connection(functools.partial(connect, path), iter_chunk_size=256)
        # A store left open (an exception before close) must not keep the process alive.
        db._thread.daemon = True  # noqa: SLF001
        try:
            await db
        except BaseException:
            # aiosqlite stops its thread on a failed connect; let it finish while the loop
            # is alive so it can report back.
            await asyncio.to_thread(db._thread.join, 5)  # noqa: SLF001
            raise
        store = cls(db, path, agent, display_name)
        store.read_only = await store._run(connection.is_read_only)
        return store

    async def close(self) -> None:
        await self._db.close()

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(conn, ...)`` on the connection thread. A driver error leaves as
        the :class:`~agentconsole.errors.StoreError` it means (busy, full, read-only …)."""
        # aiosqlite's _execute runs a callable on its connection thread; we hand it whole
        # operations instead of single statements.
        try:
            return await self._db._execute(function, self._db._conn, *args, **kwargs)  # noqa: SLF001
        except sqlite3.Error as error:
            raise connection.translate(error, self.path) from error

    async def run_sync(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``function(conn)`` on the store's thread (for tests and benchmarks)."""
        return await self._run(function)

    # -- reads ------------------------------------------------------------------------------

    async def change_token(self) -> tuple[int, int]:
        """Differs from the last value whenever anything in the store may have changed."""
        return await self._run(queries.data_version), self.local_changes

    async def conversation_ids(self, view: View, limit: int | None = None) -> list[int]:
        if view.kind == "search":
            return await self._run(queries.search_conversation_ids, view.arg)
        return await self._run(queries.conversation_ids, view, self.agent, limit)

    async def conversation_rows(self, ids: Sequence[int]) -> dict[int, ConversationRow]:
        return await self._run(queries.conversation_rows, list(ids))

    async def list_conversations(self, filters: ListFilter) -> list[ConversationRow]:
        return await self._run(queries.list_conversations, filters)

    async def view_counts(self) -> dict[str, int]:
        return await self._run(queries.view_counts, self.agent)

    async def conversation(self, conversation_id: int) -> ConversationDetail:
        return await self._run(queries.conversation_detail, conversation_id)

    async def contact(self, contact_id: int) -> ContactRecord:
        return await self._run(queries.contact, contact_id)

    async def identities_of(self, contact_ids: Sequence[int]) -> dict[int, list[IdentityRecord]]:
        return await self._run(queries.identities_of, list(contact_ids))

    async def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        return await self._run(queries.search, text, limit)

    async def channels(self, *, with_counts: bool = True) -> list[ChannelRecord]:
        return await self._run(queries.channels, with_counts)

    async def tags(self) -> list[str]:
        return await self._run(queries.all_tags)

    async def conversation_timings(self, since: float) -> list[tuple[Any, ...]]:
        return await self._run(queries.conversation_timings, since)

    async def draft(self, conversation_id: int, kind: str) -> str | None:
        return await self._run(queries.draft, conversation_id, self.agent, kind)

    async def raw_message(self, message_id: int) -> bytes | None:
        return await self._run(queries.raw_message, message_id)

    async def attachment(self, attachment_id: int) -> tuple[str, bytes]:
        return await self._run(queries.blob, attachment_id)

    async def audit_log(self, conversation_id: int | None = None) -> list[AuditEntry]:
        return await self._run(queries.audit_entries, conversation_id)

    # -- agent actions ------------------------------------------------------------------------

    @_writes
    async def assign(
        self, conversation_id: int, assignee: str | None, *, force: bool = False
    ) -> None:
        await self._run(actions.assign, conversation_id, assignee, self.agent, force)

    @_writes
    async def set_status(
        self, conversation_id: int, status: str, *, snooze_until: float | None = None
    ) -> None:
        await self._run(actions.set_status, conversation_id, status, self.agent, snooze_until)

    @_writes
    async def set_priority(self, conversation_id: int, rank: int) -> None:
        await self._run(actions.set_priority, conversation_id, rank, self.agent)

    @_writes
    async def retag(
        self, conversation_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        await self._run(actions.retag, conversation_id, list(add), list(remove), self.agent)

    @_writes
    async def add_note(self, conversation_id: int, body: str) -> int:
        return await self._run(actions.add_note, conversation_id, body, self.agent, self.agent)

    @_writes
    async def queue_reply(
        self,
        conversation_id: int,
        body: str,
        *,
        then_status: str | None = None,
        attachments: Sequence[Attachment] = (),
        seen_up_to: int | None = None,
    ) -> int:
        """Queue a reply. With ``seen_up_to`` (the newest message id the agent saw), a reply
        another agent sent meanwhile raises :class:`ConflictError` instead."""
        return await self._run(
            actions.queue_reply,
            conversation_id,
            body,
            self.agent,
            self.display_name,
            then_status,
            tuple(attachments),
            seen_up_to,
        )

    async def others_writing(
        self, conversation_id: int, within: float = 600.0
    ) -> list[tuple[str, str, float]]:
        """Other agents with a draft on this conversation touched in the last ``within``
        seconds: (agent, "reply" | "note", updated_at)."""
        return await self._run(
            actions.other_drafts, conversation_id, self.agent, time.time() - within
        )

    @_writes
    async def save_draft(self, conversation_id: int, kind: str, body: str) -> None:
        await self._run(actions.save_draft, conversation_id, self.agent, kind, body)

    async def wake_snoozed(self) -> list[int]:
        if self.read_only:  # reading a read-only store still works; waking waits for a writer
            return []
        woken = await self._run(actions.wake_snoozed)
        if woken:
            self.local_changes += 1
        return woken

    @_writes
    async def link_contacts(self, kept_id: int, merged_id: int) -> None:
        await self._run(actions.link_contacts, kept_id, merged_id, self.agent)

    @_writes
    async def unlink_contact(self, merged_id: int) -> int:
        """Undo the latest merge of ``merged_id`` into another contact."""
        return await self._run(actions.unlink_contacts, merged_id, self.agent)

    @_writes
    async def unlink_last_merge(self, kept_id: int) -> int:
        """Undo the latest merge into ``kept_id``; returns the contact restored."""
        return await self._run(actions.unlink_contacts, 0, self.agent, into=kept_id)

    async def find_contacts(self, text: str) -> list[ContactRecord]:
        return await self._run(queries.find_contacts, text)

    @_writes
    async def requeue_reply(self, message_id: int) -> None:
        await self._run(actions.requeue, message_id, self.agent)

    # -- channels, ingest, outbox -----------------------------------------------------------

    @_writes
    async def ensure_channel(self, name: str, type_name: str, kind: str) -> int:
        return await self._run(actions.ensure_channel, name, type_name, kind)

    async def channel_cursor(self, name: str) -> str | None:
        for channel in await self.channels():
            if channel.name == name:
                return channel.cursor
        return None

    @_writes
    async def set_health(self, name: str, health: str, detail: str | None = None) -> None:
        await self._run(actions.set_health, name, health, detail)

    async def acquire_lease(
        self, name: str, owner: str, ttl: float, process: ProcessIdentity | None = None
    ) -> bool:
        """Take or renew channel ``name``'s lease for ``ttl`` seconds as ``owner`` (running
        in ``process``, this one by default). False while another live owner holds it; an
        owner whose process is gone from this host is replaced at once, one on another host
        once its lease expired. Taking over from a dead owner releases the replies it had
        claimed as sending."""
        return await self._run(
            actions.acquire_lease, name, owner, ttl, process or processes.current()
        )

    async def release_lease(self, name: str, owner: str) -> None:
        """Give up ``owner``'s lease on ``name`` (no-op if another holds it); replies still
        claimed as sending are due at once for the next holder."""
        await self._run(actions.release_lease, name, owner)

    @_writes
    async def ingest(
        self,
        channel: str,
        messages: Sequence[InboundMessage],
        cursor: str | None = None,
        *,
        update_cursor: bool = True,
    ) -> IngestReport:
        """Store a batch from ``channel`` and its new cursor in one transaction."""

        def run(conn: sqlite3.Connection) -> IngestReport:
            channel_id = actions.channel_id(conn, channel)
            return ingest_sql.ingest_batch(
                conn, channel_id, messages, cursor, update_cursor=update_cursor
            )

        return await self._run(run)

    @_writes
    async def claim_due_replies(self, channel: str, limit: int = 20) -> list[OutboxItem]:
        return await self._run(actions.claim_due_replies, channel, limit)

    @_writes
    async def mark_sent(
        self,
        outbox_id: int,
        external_id: str,
        url: str | None = None,
        follow_up: bytes | None = None,
    ) -> None:
        """The channel accepted the reply: record it as sent (never to be sent again) and,
        in the same transaction, its ``follow_up`` work, due at once."""
        await self._run(actions.mark_sent, outbox_id, external_id, url, follow_up)

    async def due_followups(self, channel: str, limit: int = 20) -> list[FollowUp]:
        """Follow-ups of sent replies on ``channel`` due now."""
        return await self._run(actions.due_followups, channel, limit)

    async def finish_followup(
        self, outbox_id: int, *, error: str | None = None, retry_at: float | None = None
    ) -> None:
        """A follow-up attempt: done (``error`` if given up) or to retry at ``retry_at``."""
        await self._run(actions.finish_followup, outbox_id, error=error, retry_at=retry_at)

    async def waiting_replies(self, channel: str) -> int:
        """How many replies on ``channel`` wait to be sent."""
        return await self._run(actions.waiting_replies, channel)

    @_writes
    async def mark_retry(self, outbox_id: int, error: str, next_attempt_at: float) -> None:
        await self._run(actions.mark_retry, outbox_id, error, next_attempt_at)

    @_writes
    async def mark_failed(self, outbox_id: int, error: str) -> None:
        await self._run(actions.mark_failed, outbox_id, error)
