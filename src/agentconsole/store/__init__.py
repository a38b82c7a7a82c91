"""The store: the only place with SQL. Everything else talks to :class:`Store`.

Each method runs one plain function (``queries`` for reads, ``actions`` / ``ingest_sql``
for writes) on aiosqlite's connection thread, so the event loop never waits on SQLite and a
batch costs one thread hop, not one per statement.

Errors every method may raise: :class:`~agentconsole.errors.StoreError` when the file
cannot be opened or migrated, and ``sqlite3.OperationalError`` when the database stays
locked past the busy timeout or the disk is full. Each write is one transaction: it is
committed whole or not at all.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from .. import processes
from ..models import (
    AuditEntry,
    Change,
    ChangeOutcome,
    ChannelRecord,
    ContactRecord,
    ConversationDetail,
    ConversationRow,
    ConversationState,
    ConversationTiming,
    DraftActivity,
    FollowUp,
    IdentityRecord,
    IngestReport,
    OutboxItem,
    SearchHit,
    View,
)
from ..plugin import Attachment, InboundMessage
from ..processes import ProcessIdentity
from ..query import Node, parse
from ..views import Order, ViewDefinition
from . import actions, changes, connection, ingest_sql, queries, undo_send
from .connection import connect
from .undo_send import UnsentReply

T = TypeVar("T")
P = ParamSpec("P")

__all__ = ["Store"]


def _writes(
    method: Callable[Concatenate[Store, P], Awaitable[T]],
) -> Callable[Concatenate[Store, P], Coroutine[Any, Any, T]]:
    """Mark a method as a write: bumps the local change counter that live views watch
    (``PRAGMA data_version`` only sees other connections' commits)."""

    async def wrapper(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        finally:
            self.local_changes += 1

    functools.update_wrapper(wrapper, method)
    return wrapper


class Store:
    """An open store. Create with ``await Store.open(path, agent=...)``; close when done.

    ``agent`` is who every action is recorded as (the Unix user unless config names another).
    Methods of one instance may be awaited concurrently: they run one after another on the
    store's thread. Several processes may open the same file.
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
        """Open (creating and migrating if needed) the store at ``path``.

        Raises :class:`~agentconsole.errors.StoreError` naming the file when it cannot be
        created, is not an agentconsole store, or was written by a newer version.
        """
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
        """Close the connection; the instance is unusable afterwards."""
        await self._db.close()

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(conn, ...)`` on the connection thread. A driver error leaves as
        the :class:`~agentconsole.errors.StoreError` it means (busy, full, read-only …)."""
        # aiosqlite's _execute runs a callable on its connection thread; we hand it whole
        # operations instead of single statements.
        execute: Callable[..., Awaitable[T]] = self._db._execute  # noqa: SLF001
        try:
            return await execute(function, self._db._conn, *args, **kwargs)  # noqa: SLF001
        except sqlite3.Error as error:
            raise connection.translate(error, self.path) from error

    async def run_sync(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``function(conn)`` on the store's thread (for tests and benchmarks)."""
        return await self._run(function)

    # -- reads ------------------------------------------------------------------------------

    async def change_token(self) -> tuple[int, int]:
        """Differs from the last value whenever anything in the store may have changed
        (a commit by another process, or a write through this instance)."""
        return await self._run(queries.data_version), self.local_changes

    async def conversation_ids(self, view: View, limit: int | None = None) -> list[int]:
        """The ids of ``view``'s conversations in the view's order (the first ``limit``
        when given; a search view returns its most recent hits). Raises
        :class:`~agentconsole.errors.UsageError` for an unknown view or an empty search."""
        return await self._run(queries.conversation_ids, view, self.agent, limit)

    async def find(
        self, query: Node, *, order: Order = "urgent", limit: int | None = None
    ) -> list[ConversationRow]:
        """The conversations ``query`` matches (the query language, compiled to one
        statement), in ``order``, at most ``limit``; ``me`` is this store's agent."""
        return await self._run(queries.find, query, order, self.agent, time.time(), limit)

    async def count(self, queries_by_key: Mapping[str, Node]) -> dict[str, int]:
        """How many conversations each query matches, by key, in one call."""
        return await self._run(queries.count_matching, queries_by_key, self.agent, time.time())

    async def search(self, query: Node | str, limit: int = 50) -> list[SearchHit]:
        """The ``limit`` newest messages holding the query's words (all in one message,
        accents and case ignored, ``"phrases"``, ``prefix*``), in conversations that match
        its other terms. Raises :class:`~agentconsole.errors.UsageError` for a query
        without words, and :class:`~agentconsole.query.QueryError` (a ``UsageError``) for
        text that is not a query."""
        node = parse(query) if isinstance(query, str) else query
        return await self._run(queries.search_hits, node, self.agent, time.time(), limit)

    async def shared_views(self) -> list[ViewDefinition]:
        """The views the team shares through this store, by name."""
        return await self._run(queries.shared_views)

    @_writes
    async def save_view(
        self,
        name: str,
        query: str,
        *,
        order: Order = "urgent",
        shortcut: str | None = None,
        replace: bool = False,
    ) -> None:
        """Share a view with the team, audited. The query must parse
        (:class:`~agentconsole.query.QueryError`); a taken name is a
        :class:`~agentconsole.errors.ConflictError` unless ``replace``."""
        parse(query)
        await self._run(actions.save_view, name, query, order, shortcut, self.agent, replace)

    @_writes
    async def remove_view(self, name: str) -> None:
        """Stop sharing a view, audited. Raises :class:`~agentconsole.errors.NotFoundError`."""
        await self._run(actions.remove_view, name, self.agent)

    async def conversation_rows(self, ids: Sequence[int]) -> dict[int, ConversationRow]:
        """The queue rows of ``ids``, keyed by id; ids that no longer exist are left out."""
        return await self._run(queries.conversation_rows, list(ids))

    async def queue_rows(self, ids: Sequence[int]) -> dict[int, ConversationRow]:
        """:meth:`conversation_rows` as this agent's queue shows them: each also says
        whether this agent has an unsent draft on it."""
        return await self._run(queries.queue_rows, list(ids), self.agent)

    async def view_counts(self) -> dict[str, int]:
        """How many conversations every sidebar view holds, keyed by :attr:`View.key`."""
        return await self._run(queries.view_counts, self.agent)

    async def conversation(self, conversation_id: int) -> ConversationDetail:
        """The conversation with its whole thread and the contact's other conversations.
        Raises :class:`~agentconsole.errors.NotFoundError` when there is none."""
        return await self._run(queries.conversation_detail, conversation_id)

    async def contact(self, contact_id: int) -> ContactRecord:
        """A contact with its identities. Raises :class:`~agentconsole.errors.NotFoundError`."""
        return await self._run(queries.contact, contact_id)

    async def identities_of(self, contact_ids: Iterable[int]) -> dict[int, list[IdentityRecord]]:
        """The identities of each contact (an empty list for an unknown id), in one query."""
        return await self._run(queries.identities_of, list(contact_ids))

    async def channels(self, *, with_counts: bool = True) -> list[ChannelRecord]:
        """Every channel the store knows, by name, with its health and lease; with
        ``with_counts`` also how many of its conversations are active."""
        return await self._run(queries.channels, with_counts)

    async def tags(self) -> list[str]:
        """Every tag in use, sorted."""
        return await self._run(queries.all_tags)

    async def conversation_timings(self, since: float) -> list[ConversationTiming]:
        """The timings of every conversation created since ``since`` (Unix seconds) or
        still active: what :func:`agentconsole.metrics.compute` reads."""
        return await self._run(queries.conversation_timings, since)

    async def draft(self, conversation_id: int, kind: str) -> str | None:
        """This agent's saved ``"reply"`` or ``"note"`` draft on a conversation, if any."""
        return await self._run(queries.draft, conversation_id, self.agent, kind)

    async def raw_message(self, message_id: int) -> bytes | None:
        """The original bytes of a message as received, unchanged; None for a message kept
        without one (a note, a reply, a chat message). Raises ``NotFoundError`` for an
        unknown message id."""
        return await self._run(queries.raw_message, message_id)

    async def attachment(self, attachment_id: int) -> tuple[str, bytes]:
        """(suggested file name, content) of an attachment. The name is a suggestion from
        outside, never a path. Raises :class:`~agentconsole.errors.NotFoundError`."""
        return await self._run(queries.blob, attachment_id)

    async def audit_log(self, conversation_id: int | None = None) -> list[AuditEntry]:
        """The newest 200 audit entries, of one conversation or of the whole store."""
        return await self._run(queries.audit_entries, conversation_id)

    # -- agent actions ------------------------------------------------------------------------

    @_writes
    async def assign(
        self, conversation_id: int, assignee: str | None, *, force: bool = False
    ) -> bool:
        """Assign a conversation to ``assignee`` (``None``: unassign), audited.

        Raises :class:`~agentconsole.errors.ConflictError` when another agent holds it and
        ``force`` is off, :class:`~agentconsole.errors.NotFoundError` when it does not exist.
        Returns False (and writes nothing) when it was so already.
        """
        return await self._run(actions.assign, conversation_id, assignee, self.agent, force)

    @_writes
    async def set_status(
        self, conversation_id: int, status: str, *, snooze_until: float | None = None
    ) -> bool:
        """Set the status (closing records the resolution time; ``"snoozed"`` needs
        ``snooze_until``), audited. Raises :class:`~agentconsole.errors.UsageError` for an
        unknown status or a snooze without a time, :class:`~agentconsole.errors.NotFoundError`.
        Returns False (and writes nothing) when it was so already.
        """
        return await self._run(
            actions.set_status, conversation_id, status, self.agent, snooze_until
        )

    @_writes
    async def set_priority(self, conversation_id: int, rank: int) -> bool:
        """Set the priority rank (0 urgent … 3 low, see :func:`models.priority_rank`),
        audited. Raises :class:`~agentconsole.errors.UsageError` for a rank out of range,
        :class:`~agentconsole.errors.NotFoundError`. False when it was so already."""
        return await self._run(actions.set_priority, conversation_id, rank, self.agent)

    @_writes
    async def retag(
        self, conversation_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> bool:
        """Add and remove tags (one word each), audited. Raises
        :class:`~agentconsole.errors.UsageError` for a tag with spaces,
        :class:`~agentconsole.errors.NotFoundError`. False when no tag changed."""
        return await self._run(actions.retag, conversation_id, list(add), list(remove), self.agent)

    @_writes
    async def apply(self, ids: Sequence[int], change: Change) -> list[ChangeOutcome]:
        """``change`` on each of ``ids``, one transaction per batch, one audit entry per
        conversation changed; an outcome per id (with the state before, for :meth:`restore`).
        A conversation that is missing, held by another agent or already so is reported in
        its outcome, not raised. Raises :class:`~agentconsole.errors.UsageError` for a
        malformed change."""
        return await self._run(changes.apply, list(ids), change, self.agent)

    @_writes
    async def restore(self, states: Sequence[ConversationState]) -> list[int]:
        """Undo: put conversations back as ``states`` recorded them, audited; returns the
        ids that changed."""
        return await self._run(changes.restore, list(states), self.agent)

    @_writes
    async def add_note(self, conversation_id: int, body: str) -> int:
        """Add an internal note (never sent), audited; returns its message id and clears this
        agent's note draft. Raises :class:`~agentconsole.errors.UsageError` for an empty
        note, :class:`~agentconsole.errors.NotFoundError`."""
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
        """Store a reply and queue it for delivery in one transaction, audited; returns its
        message id and clears this agent's reply draft. ``then_status`` (open, pending or
        closed) is set in the same transaction.

        With ``seen_up_to`` (the newest message id the agent saw), a reply another agent sent
        meanwhile raises :class:`~agentconsole.errors.ConflictError` and nothing is stored.
        Raises :class:`~agentconsole.errors.UsageError` for an empty reply or another
        ``then_status``, :class:`~agentconsole.errors.NotFoundError`.
        """
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

    @_writes
    async def queue_undoable_reply(
        self,
        conversation_id: int,
        body: str,
        *,
        undo_seconds: float,
        then_status: str | None = None,
        attachments: Sequence[Attachment] = (),
        seen_up_to: int | None = None,
        assign_if_unassigned: bool = False,
    ) -> int:
        """:meth:`queue_reply` with an undo window: no sender takes the reply before
        ``undo_seconds`` have passed, and :meth:`unsend` takes it back until then. With
        ``assign_if_unassigned`` an unassigned conversation is assigned to this agent in the
        same transaction (audited). Raises as :meth:`queue_reply` does."""
        return await self._run(
            actions.queue_reply,
            conversation_id,
            body,
            self.agent,
            self.display_name,
            then_status,
            tuple(attachments),
            seen_up_to,
            undo_seconds,
            self.agent if assign_if_unassigned else None,
        )

    @_writes
    async def unsend(self, message_id: int) -> UnsentReply:
        """Take this agent's reply back while it waits in its undo window, audited: it is
        never sent, its text is the agent's reply draft again, and the conversation is as
        the reply found it. Raises :class:`~agentconsole.errors.NotFoundError` for a message
        that is not a reply in the outbox, :class:`~agentconsole.errors.ConflictError` when
        another agent wrote it or its window has passed."""
        return await self._run(undo_send.unsend, message_id, self.agent)

    async def known_agents(self) -> list[str]:
        """Every agent the store knows (assignees, authors of replies and notes, the audit
        log's accounts), sorted."""
        return await self._run(undo_send.known_agents)

    async def others_writing(
        self, conversation_id: int, within: float = 600.0
    ) -> list[DraftActivity]:
        """Other agents' drafts on this conversation touched in the last ``within``
        seconds, newest first (nobody answers twice without knowing it)."""
        return await self._run(
            actions.other_drafts, conversation_id, self.agent, time.time() - within
        )

    @_writes
    async def save_draft(self, conversation_id: int, kind: str, body: str) -> None:
        """Save this agent's ``"reply"`` or ``"note"`` draft (a blank ``body`` deletes it).
        Raises :class:`~agentconsole.errors.UsageError` for another kind,
        :class:`~agentconsole.errors.NotFoundError`."""
        await self._run(actions.save_draft, conversation_id, self.agent, kind, body)

    async def wake_snoozed(self) -> list[int]:
        """Reopen every snoozed conversation whose time has come (audited as ``system``);
        returns their ids."""
        if self.read_only:  # reading a read-only store still works; waking waits for a writer
            return []
        woken = await self._run(actions.wake_snoozed)
        if woken:
            self.local_changes += 1
        return woken

    @_writes
    async def link_contacts(self, kept_id: int, merged_id: int) -> None:
        """Merge contact ``merged_id`` into ``kept_id`` (undoable), audited. Raises
        :class:`~agentconsole.errors.UsageError` for one contact twice,
        :class:`~agentconsole.errors.NotFoundError` for an unknown contact."""
        await self._run(actions.link_contacts, kept_id, merged_id, self.agent)

    @_writes
    async def unlink_contact(self, merged_id: int) -> int:
        """Undo the latest merge of ``merged_id`` into another contact, audited; returns
        ``merged_id``. Raises :class:`~agentconsole.errors.NotFoundError` when it was never
        merged."""
        return await self._run(actions.unlink_contacts, merged_id, self.agent)

    @_writes
    async def unlink_last_merge(self, kept_id: int) -> int:
        """Undo the latest merge into ``kept_id``, audited; returns the contact restored.
        Raises :class:`~agentconsole.errors.NotFoundError` when nothing was merged into it."""
        return await self._run(actions.unlink_contacts, 0, self.agent, into=kept_id)

    async def find_contacts(self, text: str) -> list[ContactRecord]:
        """Contacts known by ``text``: an id (``#12``, ``12``) or any identity address
        (case-insensitive); empty when none."""
        return await self._run(queries.find_contacts, text)

    @_writes
    async def requeue_reply(self, message_id: int) -> None:
        await self._run(actions.requeue, message_id, self.agent)

    # -- channels, ingest, outbox -----------------------------------------------------------

    @_writes
    async def ensure_channel(self, name: str, type_name: str, kind: str) -> int:
        """The id of channel ``name``, created (or its type and kind updated) as needed.
        Raises :class:`~agentconsole.errors.UsageError` for a kind other than email, chat,
        forum."""
        return await self._run(actions.ensure_channel, name, type_name, kind)

    async def channel_cursor(self, name: str) -> str | None:
        """The last committed cursor of a channel; ``None`` for a new or unknown one."""
        for channel in await self.channels():
            if channel.name == name:
                return channel.cursor
        return None

    @_writes
    async def set_health(self, name: str, health: str, detail: str | None = None) -> None:
        """Record a channel's health and its reason (shown by ``channels`` and the TUI);
        an unknown channel is ignored."""
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
        """Store a batch from ``channel`` and (with ``update_cursor``) its new cursor in one
        transaction: all of it or, on any error, none of it.

        A message already stored (same identity) is counted as a duplicate; see
        :mod:`.ingest_sql` for the identity. Raises :class:`~agentconsole.errors.NotFoundError`
        when the channel is unknown (create it with :meth:`ensure_channel`).
        """

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
