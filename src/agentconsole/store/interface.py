"""The store's public interface: what the TUI, the CLI, the sync runner, rules and the bench
may ask of a store, whichever backend holds it. The docstrings are the contract.

Open one with :func:`agentconsole.store.connect` (a file path for SQLite, a
``postgresql://`` URL for PostgreSQL). Every method may raise
:class:`~agentconsole.errors.StoreError`: :class:`~agentconsole.errors.StoreBusyError`
when the store stays locked or unreachable past its timeout (try again),
:class:`~agentconsole.errors.StoreFullError` when it cannot grow,
:class:`~agentconsole.errors.StoreReadOnlyError` for a write to a store opened read-only,
:class:`~agentconsole.errors.StoreUnavailableError` when it cannot be read at all — never a
driver's own exception. Each write is one transaction: committed whole or not at all. Calls
on one instance may be awaited concurrently; several processes (on several machines, with
PostgreSQL) may open the same store.

Business rules hold on every backend, because they are written once above the dialect:
a customer's message reopens a closed conversation; ``waiting_since`` is the oldest
unanswered customer message; the same message delivered again is stored once and different
content never dropped (:mod:`.identity`); a reply racing another agent's is refused
(``seen_up_to``); every agent action is audited as :attr:`Store.agent`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
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
        DraftMacro,
        FollowUp,
        IdentityRecord,
        IngestReport,
        OutboxItem,
        SearchHit,
        ThreadingChange,
        View,
    )
    from ..plugin import Attachment, InboundMessage
    from ..processes import ProcessIdentity
    from ..query import Node
    from ..rules.definition import Rule, RuleReplay, RuleSet
    from ..sla import SlaSettings
    from ..views import Order, ViewDefinition
    from .audit_chain import ChainCheck
    from .db import Db
    from .rule_hooks import HookCall
    from .undo_send import UnsendReport, UnsentReply

T = TypeVar("T")


class Store(Protocol):
    """An open store. ``agent`` is who every action is recorded as."""

    #: The account actions are recorded as (the Unix account unless config names another).
    agent: str
    #: The name customers see on this agent's replies.
    display_name: str
    #: Opened read-only (a file, folder or database this process cannot write): reads work,
    #: writes raise :class:`~agentconsole.errors.StoreReadOnlyError`.
    read_only: bool
    #: The rules run on ingest and on agent actions (:meth:`use_rules`); None: none.
    rules: RuleSet | None
    #: The SLA policies due times are computed with (see :meth:`use_sla`); ``None``: none.
    sla: SlaSettings | None

    @property
    def location(self) -> str:
        """Where the store is, for messages: a file path, or a URL without its password."""
        ...

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    @property
    def announces_changes(self) -> bool:
        """Whether :meth:`wait_for_change` wakes on another connection's commit (PostgreSQL's
        NOTIFY); when not (SQLite), callers poll :meth:`change_token`."""
        ...

    def channel_data_dir(self, channel: str) -> Path:
        """A private folder where channel ``channel``'s plugin may keep its own files
        (a device id, a download cache), one per store and channel; not created here."""
        ...

    async def close(self) -> None:
        """Close the connection; the instance is unusable afterwards."""
        ...

    async def run_sync(self, function: Callable[[Db], T]) -> T:
        """Run ``function(db)`` on a connection of the backend, in the store's thread, and
        return its result: for tests and benchmarks that read or set up rows directly,
        in portable SQL (see :mod:`.db`). Driver errors leave as :class:`StoreError`."""
        ...

    async def change_token(self) -> Hashable:
        """Differs from the last value whenever anything in the store may have changed
        (a commit by another process, or a write through this instance)."""
        ...

    async def wait_for_change(self, timeout: float) -> bool:
        """Wait until another connection commits a change (True), or ``timeout`` seconds
        (False). A backend that announces changes (PostgreSQL's ``NOTIFY``) answers at once;
        one that does not (SQLite) returns False after the timeout, and callers keep
        looking at :meth:`change_token`."""
        ...

    async def conversation_ids(self, view: View, limit: int | None = None) -> list[int]:
        """The ids of ``view``'s conversations in the view's order (the first ``limit``
        when given; a search view returns its most recent hits). Raises
        :class:`~agentconsole.errors.UsageError` for an unknown view or an empty search."""
        ...

    async def find(
        self, query: Node, *, order: Order = "urgent", limit: int | None = None
    ) -> list[ConversationRow]:
        """The conversations ``query`` matches (the query language, compiled to one
        statement), in ``order``, at most ``limit``; ``me`` is this store's agent."""
        ...

    async def count(self, queries_by_key: Mapping[str, Node]) -> dict[str, int]:
        """How many conversations each query matches, by key, in one call."""
        ...

    async def search(self, query: Node | str, limit: int = 50) -> list[SearchHit]:
        """The ``limit`` newest messages holding the query's words (all in one message,
        accents and case ignored, ``"phrases"``, ``prefix*``), in conversations that match
        its other terms. Raises :class:`~agentconsole.errors.UsageError` for a query
        without words, and :class:`~agentconsole.query.QueryError` (a ``UsageError``) for
        text that is not a query."""
        ...

    async def shared_views(self) -> list[ViewDefinition]:
        """The views the team shares through this store, by name."""
        ...

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
        ...

    async def remove_view(self, name: str) -> None:
        """Stop sharing a view, audited. Raises :class:`~agentconsole.errors.NotFoundError`."""
        ...

    async def conversation_rows(self, ids: Sequence[int]) -> dict[int, ConversationRow]:
        """The queue rows of ``ids``, keyed by id; ids that no longer exist are left out."""
        ...

    async def view_counts(self) -> dict[str, int]:
        """How many conversations every sidebar view holds, keyed by :attr:`View.key`."""
        ...

    async def conversation(self, conversation_id: int) -> ConversationDetail:
        """The conversation with its whole thread and the contact's other conversations.
        Raises :class:`~agentconsole.errors.NotFoundError` when there is none."""
        ...

    async def contact(self, contact_id: int) -> ContactRecord:
        """A contact with its identities. Raises :class:`~agentconsole.errors.NotFoundError`."""
        ...

    async def identities_of(self, contact_ids: Iterable[int]) -> dict[int, list[IdentityRecord]]:
        """The identities of each contact (an empty list for an unknown id), in one query."""
        ...

    async def channels(self, *, with_counts: bool = True) -> list[ChannelRecord]:
        """Every channel the store knows, by name, with its health and lease; with
        ``with_counts`` also how many of its conversations are active."""
        ...

    async def tags(self) -> list[str]:
        """Every tag in use, sorted."""
        ...

    async def conversation_timings(self, since: float) -> list[ConversationTiming]:
        """The timings of every conversation created since ``since`` (Unix seconds) or
        still active: what :func:`agentconsole.metrics.compute` reads."""
        ...

    async def draft(self, conversation_id: int, kind: str) -> str | None:
        """This agent's saved ``"reply"`` or ``"note"`` draft on a conversation, if any."""
        ...

    async def draft_macros(self, conversation_id: int, kind: str) -> tuple[DraftMacro, ...]:
        """The saved replies inserted into this agent's draft of ``kind`` on a conversation,
        with the tags and status each applies when it is sent, in the order inserted (none
        without a draft). They go with the draft: sending it or blanking it drops them."""
        ...

    async def raw_message(self, message_id: int) -> bytes | None:
        """The original bytes of a message as received, unchanged; None for a message kept
        without one (a note, a reply, a chat message). Raises ``NotFoundError`` for an
        unknown message id."""
        ...

    async def attachment(self, attachment_id: int) -> tuple[str, bytes]:
        """(suggested file name, content) of an attachment. The name is a suggestion from
        outside, never a path. Raises :class:`~agentconsole.errors.NotFoundError`."""
        ...

    async def audit_log(self, conversation_id: int | None = None) -> list[AuditEntry]:
        """The newest 200 audit entries, of one conversation or of the whole store."""
        ...

    async def verify_audit(self) -> ChainCheck:
        """Check the audit log's hash chain from its start: where it first breaks (an
        entry changed, removed or inserted behind the store's back), if anywhere."""
        ...

    async def setting(self, key: str) -> str | None:
        """A setting of the store itself (``store_settings``), or ``None`` when unset."""
        ...

    async def set_setting(self, key: str, value: str) -> None:
        """Set a setting of the store itself, audited as this store's agent."""
        ...

    async def assign(
        self, conversation_id: int, assignee: str | None, *, force: bool = False
    ) -> bool:
        """Assign a conversation to ``assignee`` (``None``: unassign), audited.

        Raises :class:`~agentconsole.errors.ConflictError` when another agent holds it and
        ``force`` is off, :class:`~agentconsole.errors.NotFoundError` when it does not exist.
        Returns False (and writes nothing) when it was so already.
        """
        ...

    async def set_status(
        self, conversation_id: int, status: str, *, snooze_until: float | None = None
    ) -> bool:
        """Set the status (closing records the resolution time; ``"snoozed"`` needs
        ``snooze_until``), audited. Raises :class:`~agentconsole.errors.UsageError` for an
        unknown status or a snooze without a time, :class:`~agentconsole.errors.NotFoundError`.
        Returns False (and writes nothing) when it was so already.
        """
        ...

    async def set_priority(self, conversation_id: int, rank: int) -> bool:
        """Set the priority rank (0 urgent … 3 low, see :func:`models.priority_rank`),
        audited. Raises :class:`~agentconsole.errors.UsageError` for a rank out of range,
        :class:`~agentconsole.errors.NotFoundError`. False when it was so already."""
        ...

    async def retag(
        self, conversation_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> bool:
        """Add and remove tags (one word each), audited. Raises
        :class:`~agentconsole.errors.UsageError` for a tag with spaces,
        :class:`~agentconsole.errors.NotFoundError`. False when no tag changed."""
        ...

    async def apply(self, ids: Sequence[int], change: Change) -> list[ChangeOutcome]:
        """``change`` on each of ``ids``, one transaction per batch, one audit entry per
        conversation changed; an outcome per id (with the state before, for :meth:`restore`).
        A conversation that is missing, held by another agent or already so is reported in
        its outcome, not raised. Raises :class:`~agentconsole.errors.UsageError` for a
        malformed change."""
        ...

    async def restore(self, states: Sequence[ConversationState]) -> list[int]:
        """Undo: put conversations back as ``states`` recorded them, audited; returns the
        ids that changed."""
        ...

    async def add_note(self, conversation_id: int, body: str) -> int:
        """Add an internal note (never sent), audited; returns its message id and clears this
        agent's note draft. Raises :class:`~agentconsole.errors.UsageError` for an empty
        note, :class:`~agentconsole.errors.NotFoundError`."""
        ...

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
        ...

    async def others_writing(
        self, conversation_id: int, within: float = 600.0
    ) -> list[DraftActivity]:
        """Other agents' drafts on this conversation touched in the last ``within``
        seconds, newest first (nobody answers twice without knowing it)."""
        ...

    async def save_draft(
        self,
        conversation_id: int,
        kind: str,
        body: str,
        *,
        macros: Sequence[DraftMacro] | None = None,
    ) -> None:
        """Save this agent's ``"reply"`` or ``"note"`` draft (a blank ``body`` deletes it,
        with its macros). ``macros`` (the saved replies inserted into it, see
        :meth:`draft_macros`) replace the ones the draft keeps; ``None`` leaves them.
        Raises :class:`~agentconsole.errors.UsageError` for another kind,
        :class:`~agentconsole.errors.NotFoundError`."""
        ...

    async def wake_snoozed(self) -> list[int]:
        """Reopen every snoozed conversation whose time has come (audited as ``system``);
        returns their ids."""
        ...

    async def link_contacts(self, kept_id: int, merged_id: int) -> None:
        """Merge contact ``merged_id`` into ``kept_id`` (undoable), audited. Raises
        :class:`~agentconsole.errors.UsageError` for one contact twice,
        :class:`~agentconsole.errors.NotFoundError` for an unknown contact."""
        ...

    async def unlink_contact(self, merged_id: int) -> int:
        """Undo the latest merge of ``merged_id`` into another contact, audited; returns
        ``merged_id``. Raises :class:`~agentconsole.errors.NotFoundError` when it was never
        merged."""
        ...

    async def unlink_last_merge(self, kept_id: int) -> int:
        """Undo the latest merge into ``kept_id``, audited; returns the contact restored.
        Raises :class:`~agentconsole.errors.NotFoundError` when nothing was merged into it."""
        ...

    async def find_contacts(self, text: str) -> list[ContactRecord]:
        """Contacts known by ``text``: an id (``#12``, ``12``) or any identity address
        (case-insensitive); empty when none."""
        ...

    async def requeue_reply(self, message_id: int) -> None:
        """Queue a failed reply again (an agent's retry), audited. Raises
        :class:`~agentconsole.errors.NotFoundError` when the message is no failed reply."""
        ...

    async def ensure_channel(self, name: str, type_name: str, kind: str) -> int:
        """The id of channel ``name``, created (or its type and kind updated) as needed.
        Raises :class:`~agentconsole.errors.UsageError` for a kind other than email, chat,
        forum."""
        ...

    async def channel_cursor(self, name: str) -> str | None:
        """The last committed cursor of a channel; ``None`` for a new or unknown one."""
        ...

    async def set_health(self, name: str, health: str, detail: str | None = None) -> None:
        """Record a channel's health and its reason (shown by ``channels`` and the TUI);
        an unknown channel is ignored."""
        ...

    async def acquire_lease(
        self, name: str, owner: str, ttl: float, process: ProcessIdentity | None = None
    ) -> bool:
        """Take or renew channel ``name``'s lease for ``ttl`` seconds as ``owner`` (running
        in ``process``, this one by default). False while another live owner holds it; an
        owner whose process is gone from this host is replaced at once, one on another host
        once its lease expired. Taking over from a dead owner releases the replies it had
        claimed as sending."""
        ...

    async def release_lease(self, name: str, owner: str) -> None:
        """Give up ``owner``'s lease on ``name`` (no-op if another holds it); replies still
        claimed as sending are due at once for the next holder."""
        ...

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
        :mod:`.ingest_sql` for the identity. Text the stores cannot hold (lone surrogates) is
        neutralised first, with a note, the original kept (:mod:`.inbound_text`). Raises :class:`~agentconsole.errors.NotFoundError`
        when the channel is unknown (create it with :meth:`ensure_channel`).
        """
        ...

    async def claim_due_replies(self, channel: str, limit: int = 20) -> list[OutboxItem]:
        """Claim up to ``limit`` replies on ``channel`` that are due, oldest first, marking
        them as sending, and return them with what sending needs. Two senders never claim
        the same reply; a claim is released when its lease's owner dies."""
        ...

    async def mark_sent(
        self,
        outbox_id: int,
        external_id: str,
        url: str | None = None,
        follow_up: bytes | None = None,
    ) -> None:
        """The channel accepted the reply: record it as sent (never to be sent again) and,
        in the same transaction, its ``follow_up`` work, due at once."""
        ...

    async def due_followups(self, channel: str, limit: int = 20) -> list[FollowUp]:
        """Follow-ups of sent replies on ``channel`` due now."""
        ...

    async def finish_followup(
        self, outbox_id: int, *, error: str | None = None, retry_at: float | None = None
    ) -> None:
        """A follow-up attempt: done (``error`` if given up) or to retry at ``retry_at``."""
        ...

    async def waiting_replies(self, channel: str) -> int:
        """How many replies on ``channel`` wait to be sent."""
        ...

    async def mark_retry(self, outbox_id: int, error: str, next_attempt_at: float) -> None:
        """A send attempt failed for a reason that may pass: due again at
        ``next_attempt_at``, with ``error`` shown meanwhile."""
        ...

    async def mark_failed(self, outbox_id: int, error: str) -> None:
        """The channel refused the reply for good: failed with ``error``, never retried
        unless an agent requeues it."""
        ...

    async def merge_conversations(self, keep_id: int, other_id: int) -> ThreadingChange:
        """Merge ``other_id`` into ``keep_id``: its messages, notes, tags and drafts move;
        it redirects to ``keep_id`` from then on. Audited, undoable with
        :meth:`undo_threading`. Raises :class:`~agentconsole.errors.NotFoundError`,
        :class:`~agentconsole.errors.UsageError` for one conversation twice or two
        channels."""
        ...

    async def split_conversation(self, message_id: int, *, only: bool = False) -> ThreadingChange:
        """Split ``message_id``'s conversation into a new one holding that message and the
        later ones (``only``: that message alone); the change's ``target_id`` is the new
        conversation. Audited, undoable. Raises ``NotFoundError``, ``UsageError`` when the
        original would be left empty."""
        ...

    async def move_message(self, message_id: int, conversation_id: int) -> ThreadingChange:
        """Move one message to another conversation of its channel. Audited, undoable.
        Raises ``NotFoundError``, ``UsageError`` (already there, another channel, the only
        message of its conversation)."""
        ...

    async def undo_threading(self, change_id: int, kind: str | None = None) -> ThreadingChange:
        """Undo merge, split or move ``change_id`` (``kind``, when given, must be its kind),
        audited; returns it, marked undone. Raises ``NotFoundError``, ``UsageError`` for
        another kind, :class:`~agentconsole.errors.ConflictError` when undone already or a
        later change to its conversations must be undone first."""
        ...

    async def threading_change(self, change_id: int) -> ThreadingChange:
        """Merge, split or move ``change_id``. Raises ``NotFoundError``."""
        ...

    def use_rules(self, rules: RuleSet | None) -> None:
        """Run ``rules`` from now on: in the transaction of every ingested batch and of
        every change made through :meth:`apply` (see :mod:`.rules_sql`); ``None`` stops."""
        ...

    async def run_schedule_rules(self, now: float | None = None) -> dict[str, int]:
        """Run the ``schedule`` rules once over the conversations they match at ``now``
        (default: the current time); by rule, how many conversations changed."""
        ...

    async def replay_rule(self, rule: Rule, since: float, now: float | None = None) -> RuleReplay:
        """What ``rule`` would have done since ``since`` (Unix seconds), without writing
        anything (see :mod:`.rules_replay`)."""
        ...

    async def last_rule_change(self, conversation_id: int) -> tuple[str, ConversationState] | None:
        """(the rule, the conversation's state before it) of the latest change a rule made
        to it, for undo with :meth:`restore`; None when no rule changed it."""
        ...

    async def claim_rule_hooks(self, limit: int = 20) -> list[HookCall]:
        """Claim hook commands rules queued (their runner stopped mid-way: again)."""
        ...

    async def finish_rule_hook(self, hook_id: int, error: str | None = None) -> None:
        """Record a hook's end; a failure is written in the conversation's history."""
        ...

    async def set_spam(self, ids: Sequence[int], spam: bool = True) -> list[int]:
        """Mark conversations spam — out of every queue view, their senders blocked on their
        channels — or (``spam=False``) not spam, undoing both; audited. Returns the ids
        that changed."""

    # -- SLA ----------------------------------------------------------------------------------

    async def use_sla(self, settings: SlaSettings | None) -> int:
        """Compute due times with ``settings`` from now on (``None`` or no policies: none).
        From then on every write that can move a due time (ingest, status, priority, tags,
        assignment, replies, undo) recomputes those conversations right after it commits.
        When the stored due times were computed under other policies, every conversation
        still in play (and those closed in the last 30 days) is computed again now; with
        no policies the SLA columns are cleared. Returns how many conversations changed. A
        read-only store keeps what it has."""
        ...

    async def refresh_sla(self) -> int:
        """Recompute the due time of every conversation still in play (and those closed in
        the last 30 days) with the current policies; returns how many changed."""
        ...

    async def queue_rows(self, ids: Sequence[int]) -> dict[int, ConversationRow]:
        """:meth:`conversation_rows` as this agent's queue shows them: each also says
        whether this agent has an unsent draft on it."""
        ...

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
        macros: Sequence[DraftMacro] = (),
    ) -> int:
        """:meth:`queue_reply` with an undo window: no sender takes the reply before
        ``undo_seconds`` have passed, and :meth:`unsend` takes it back until then. With
        ``assign_if_unassigned`` an unassigned conversation is assigned to this agent in the
        same transaction (audited). ``macros`` (the saved replies inserted into the draft,
        see :meth:`draft_macros`) come back with the draft when it is taken back. Raises as
        :meth:`queue_reply` does."""
        ...

    async def unsend(self, message_id: int) -> UnsentReply:
        """Take this agent's reply back while it waits in its undo window, audited: it is
        never sent, its text is the agent's reply draft again, and the conversation is as
        the reply found it. Raises :class:`~agentconsole.errors.NotFoundError` for a message
        that is not a reply in the outbox, :class:`~agentconsole.errors.ConflictError` when
        another agent wrote it or its window has passed."""
        ...

    async def unsend_each(self, message_ids: Sequence[int]) -> UnsendReport:
        """:meth:`unsend` for each reply (a bulk reply taken back whole), each in its own
        transaction: every one still in its window is taken back, and each that cannot be
        (it left, another agent wrote it, it is not in the outbox) is reported in the
        result with why, not raised."""
        ...

    async def compact_search_index(self, *, started: bool = False) -> bool:
        """One bounded step of merging the full-text index into one piece, which keeps
        word lookups quick as the store grows (SQLite's index grows in pieces; PostgreSQL's
        needs nothing: always False there). A step is its own short write transaction and
        is taken only when the index is in enough pieces to be worth it, or, with
        ``started``, while a merge is under way. Returns whether another step has work:
        call again, letting other writers in between, until it returns False. Rows,
        search hits and counts are the same before and after. Raises
        :class:`~agentconsole.errors.StoreError` as any write."""
        ...

    async def known_agents(self) -> list[str]:
        """Every agent the store knows (assignees, authors of replies and notes, the audit
        log's accounts), sorted."""
        ...
