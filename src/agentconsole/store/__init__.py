"""The store: the only place with SQL. Everything above it uses :class:`Store`, the typed
interface in :mod:`.interface` (its docstrings are the contract), opened with
:func:`connect`.

:class:`SqlStore` implements it once for every backend: each method runs one shared plain
function (``queries`` for reads, ``actions`` / ``changes`` / ``ingest_sql`` for writes) on a
backend connection (:class:`~.db.Db`), a whole operation per hop off the event loop. What
differs between SQLite and PostgreSQL is in the backend (``sqlite/``, ``postgres/``): its
connection, dialect, migrations and error translation.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from .. import processes
from ..errors import StoreError, UsageError
from ..query import parse
from .backend import Backend, is_postgres, open_backend
from .interface import Store

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
    from . import (
        actions,
        audit_chain,
        changes,
        draft_macros,
        inbound_text,
        ingest_sql,
        queries,
        rule_hooks,
        rules_replay,
        rules_sql,
        search_upkeep,
        settings,
        sla_sql,
        spam_sql,
        threading_changes,
        threading_undo,
        undo_send,
    )
    from .audit_chain import ChainCheck
    from .db import Db
    from .rule_hooks import HookCall
    from .undo_send import UnsendReport, UnsentReply


#: The store's operation modules: each is executed on its first use, so a script that only
#: reads (``agentconsole list`` on a read-only connection, :mod:`.readonly`) imports this
#: package without the write paths it never runs, and the operation modules that import
#: each other (``actions`` and ``ingest_sql``, say) can be imported in any order.
#: :class:`SqlStore` loads them all when it is made, before any backend thread uses one.
#: (The same names are imported above for the type checker.)
_OPERATIONS = (
    "actions",
    "audit_chain",
    "changes",
    "draft_macros",
    "inbound_text",
    "ingest_sql",
    "queries",
    "rule_hooks",
    "rules_replay",
    "rules_sql",
    "search_upkeep",
    "settings",
    "sla_sql",
    "spam_sql",
    "threading_changes",
    "threading_undo",
    "undo_send",
)


def _load_later(names: Sequence[str]) -> None:
    import importlib.util
    import sys

    for name in names:
        full_name = f"{__name__}.{name}"
        module = sys.modules.get(full_name)
        if module is None:
            spec = importlib.util.find_spec(full_name)
            assert spec is not None and spec.loader is not None, full_name
            spec.loader = importlib.util.LazyLoader(spec.loader)
            module = importlib.util.module_from_spec(spec)
            sys.modules[full_name] = module
            spec.loader.exec_module(module)
        globals()[name] = module


def _load_operations() -> None:
    for name in _OPERATIONS:
        module: ModuleType = globals()[name]
        getattr(module, "__name__")  # noqa: B009 — touching a module executes it


if not TYPE_CHECKING:
    _load_later(_OPERATIONS)


T = TypeVar("T")
P = ParamSpec("P")

__all__ = ["SqlStore", "Store", "connect", "init_team_roles", "is_postgres"]


async def connect(location: str | Path, *, agent: str, display_name: str | None = None) -> Store:
    """Open the store at ``location`` — a SQLite file path (created and migrated if needed)
    or a ``postgresql://`` URL (migrated if needed) — acting as ``agent``.

    Raises :class:`~agentconsole.errors.StoreError` naming the store when it cannot be
    opened, is not an agentconsole store, or was written by a newer version.
    """
    return await SqlStore.open(location, agent=agent, display_name=display_name)


async def init_team_roles(location: str | Path, agents: Sequence[str]) -> list[str]:
    """``store init``: set up a PostgreSQL store's owner and agents roles (the audit log
    append-only for agents) and make ``agents`` members; returns what was done. Raises
    :class:`~agentconsole.errors.UsageError` for a SQLite store (its file's permissions are
    ``store share``'s business), :class:`~agentconsole.errors.StoreError` otherwise."""
    if not is_postgres(location):
        raise UsageError(
            "store init sets up PostgreSQL roles; a store file is shared with "
            "`store share --group GROUP`"
        )
    from .postgres import init_roles

    return await init_roles(str(location), list(agents))


def _writes(
    method: Callable[Concatenate[SqlStore, P], Awaitable[T]],
) -> Callable[Concatenate[SqlStore, P], Coroutine[Any, Any, T]]:
    """Mark a method as a write: bumps the local change counter that live views watch
    (the backend's token only sees other connections' commits)."""

    async def wrapper(self: SqlStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        finally:
            self.local_changes += 1

    functools.update_wrapper(wrapper, method)
    return wrapper


def _sla_follows(
    conversations: Callable[[dict[str, Any], Any], Iterable[int]],
) -> Callable[
    [Callable[Concatenate[SqlStore, P], Awaitable[T]]],
    Callable[Concatenate[SqlStore, P], Coroutine[Any, Any, T]],
]:
    """Mark a write that can move due times: once it committed, the SLA columns of the
    conversations ``conversations(arguments, result)`` names are recomputed (the one place:
    :func:`.sla_sql.recompute`), when the store has policies (:meth:`SqlStore.use_sla`)."""

    def decorate(
        method: Callable[Concatenate[SqlStore, P], Awaitable[T]],
    ) -> Callable[Concatenate[SqlStore, P], Coroutine[Any, Any, T]]:
        signature: list[Any] = []  # made on the first call: a script's read imports this
        # module, and inspect is milliseconds of its start

        async def wrapper(self: SqlStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
            result = await method(self, *args, **kwargs)
            if self.sla is not None:
                if not signature:
                    import inspect

                    signature.append(inspect.signature(method))
                bound = signature[0].bind(self, *args, **kwargs).arguments
                await self._recompute_sla(list(conversations(bound, result)))
            return result

        functools.update_wrapper(wrapper, method)
        return wrapper

    return decorate


def _the_conversation(arguments: dict[str, Any], result: Any) -> list[int]:
    return [int(arguments["conversation_id"])]


def _changed(arguments: dict[str, Any], result: Any) -> list[int]:
    return [outcome.conversation_id for outcome in result if outcome.changed]


def _restored(arguments: dict[str, Any], result: Any) -> list[int]:
    return list(result)


def _touched(arguments: dict[str, Any], result: Any) -> list[int]:
    return list(result.touched)


class SqlStore:
    """:class:`Store` over a :class:`~.backend.Backend` (see :mod:`.interface` for what each
    method promises)."""

    #: The rules run on ingest and on agent actions (:meth:`use_rules`); none by default.
    rules: RuleSet | None = None

    def __init__(self, backend: Backend, agent: str, display_name: str | None = None) -> None:
        _load_operations()
        self._backend = backend
        self.agent = agent
        self.display_name = display_name or agent
        self.local_changes = 0
        self.read_only = backend.read_only
        self.sla: SlaSettings | None = None

    @classmethod
    async def open(
        cls, location: str | Path, *, agent: str, display_name: str | None = None
    ) -> SqlStore:
        return cls(await open_backend(location), agent, display_name)

    @property
    def location(self) -> str:
        return self._backend.location

    @property
    def backend(self) -> str:
        return self._backend.name

    @property
    def announces_changes(self) -> bool:
        return self._backend.announces_changes

    def channel_data_dir(self, channel: str) -> Path:
        return self._backend.channel_data_dir(channel)

    async def close(self) -> None:
        await self._backend.close()

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._backend.run(function, *args, **kwargs)

    async def run_sync(self, function: Callable[[Db], T]) -> T:
        return await self._run(function)

    # -- reads ------------------------------------------------------------------------------

    async def change_token(self) -> Hashable:
        return await self._backend.change_token(), self.local_changes

    async def wait_for_change(self, timeout: float) -> bool:
        return await self._backend.wait_for_change(timeout)

    async def conversation_ids(self, view: View, limit: int | None = None) -> list[int]:
        return await self._run(queries.conversation_ids, view, self.agent, limit)

    async def find(
        self, query: Node, *, order: Order = "urgent", limit: int | None = None
    ) -> list[ConversationRow]:
        return await self._run(queries.find, query, order, self.agent, time.time(), limit)

    async def count(self, queries_by_key: Mapping[str, Node]) -> dict[str, int]:
        return await self._run(queries.count_matching, queries_by_key, self.agent, time.time())

    async def search(self, query: Node | str, limit: int = 50) -> list[SearchHit]:
        node = parse(query) if isinstance(query, str) else query
        return await self._run(queries.search_hits, node, self.agent, time.time(), limit)

    async def shared_views(self) -> list[ViewDefinition]:
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
        parse(query)
        await self._run(actions.save_view, name, query, order, shortcut, self.agent, replace)

    @_writes
    async def remove_view(self, name: str) -> None:
        await self._run(actions.remove_view, name, self.agent)

    async def conversation_rows(self, ids: Sequence[int]) -> dict[int, ConversationRow]:
        return await self._run(queries.conversation_rows, list(ids))

    async def queue_rows(self, ids: Sequence[int]) -> dict[int, ConversationRow]:
        return await self._run(queries.queue_rows, list(ids), self.agent)

    async def view_counts(self) -> dict[str, int]:
        return await self._run(queries.view_counts, self.agent)

    async def conversation(self, conversation_id: int) -> ConversationDetail:
        return await self._run(queries.conversation_detail, conversation_id)

    async def contact(self, contact_id: int) -> ContactRecord:
        return await self._run(queries.contact, contact_id)

    async def identities_of(self, contact_ids: Iterable[int]) -> dict[int, list[IdentityRecord]]:
        return await self._run(queries.identities_of, list(contact_ids))

    async def channels(self, *, with_counts: bool = True) -> list[ChannelRecord]:
        return await self._run(queries.channels, with_counts)

    async def tags(self) -> list[str]:
        return await self._run(queries.all_tags)

    async def conversation_timings(self, since: float) -> list[ConversationTiming]:
        return await self._run(queries.conversation_timings, since)

    async def draft(self, conversation_id: int, kind: str) -> str | None:
        return await self._run(queries.draft, conversation_id, self.agent, kind)

    async def draft_macros(self, conversation_id: int, kind: str) -> tuple[DraftMacro, ...]:
        return await self._run(draft_macros.of_draft, conversation_id, self.agent, kind)

    async def raw_message(self, message_id: int) -> bytes | None:
        return await self._run(queries.raw_message, message_id)

    async def attachment(self, attachment_id: int) -> tuple[str, bytes]:
        return await self._run(queries.blob, attachment_id)

    async def audit_log(self, conversation_id: int | None = None) -> list[AuditEntry]:
        return await self._run(queries.audit_entries, conversation_id)

    async def verify_audit(self) -> ChainCheck:
        return await self._run(audit_chain.verify)

    async def setting(self, key: str) -> str | None:
        return await self._run(settings.get, key)

    @_writes
    async def set_setting(self, key: str, value: str) -> None:
        await self._run(settings.put, key, value, self.agent)

    # -- agent actions ------------------------------------------------------------------------

    @_writes
    @_sla_follows(_the_conversation)
    async def assign(
        self, conversation_id: int, assignee: str | None, *, force: bool = False
    ) -> bool:
        return await self._run(actions.assign, conversation_id, assignee, self.agent, force)

    @_writes
    @_sla_follows(_the_conversation)
    async def set_status(
        self, conversation_id: int, status: str, *, snooze_until: float | None = None
    ) -> bool:
        return await self._run(
            actions.set_status, conversation_id, status, self.agent, snooze_until
        )

    @_writes
    @_sla_follows(_the_conversation)
    async def set_priority(self, conversation_id: int, rank: int) -> bool:
        return await self._run(actions.set_priority, conversation_id, rank, self.agent)

    @_writes
    @_sla_follows(_the_conversation)
    async def retag(
        self, conversation_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> bool:
        return await self._run(actions.retag, conversation_id, list(add), list(remove), self.agent)

    @_writes
    @_sla_follows(_changed)
    async def apply(self, ids: Sequence[int], change: Change) -> list[ChangeOutcome]:
        return await self._run(changes.apply, list(ids), change, self.agent, self.rules)

    @_writes
    @_sla_follows(_restored)
    async def restore(self, states: Sequence[ConversationState]) -> list[int]:
        return await self._run(changes.restore, list(states), self.agent)

    @_writes
    async def add_note(self, conversation_id: int, body: str) -> int:
        return await self._run(actions.add_note, conversation_id, body, self.agent, self.agent)

    async def queue_reply(
        self,
        conversation_id: int,
        body: str,
        *,
        then_status: str | None = None,
        attachments: Sequence[Attachment] = (),
        seen_up_to: int | None = None,
    ) -> int:
        return await self.queue_undoable_reply(
            conversation_id,
            body,
            undo_seconds=0.0,
            then_status=then_status,
            attachments=attachments,
            seen_up_to=seen_up_to,
        )

    @_writes
    @_sla_follows(_the_conversation)
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
            tuple(macros),
        )

    @_writes
    async def unsend(self, message_id: int) -> UnsentReply:
        return await self._run(undo_send.unsend, message_id, self.agent)

    @_writes
    async def unsend_each(self, message_ids: Sequence[int]) -> UnsendReport:
        return await self._run(undo_send.unsend_each, list(message_ids), self.agent)

    async def known_agents(self) -> list[str]:
        return await self._run(undo_send.known_agents)

    async def compact_search_index(self, *, started: bool = False) -> bool:
        # Not a @_writes: merging changes no row a view shows.
        return await self._run(search_upkeep.compact_step, started=started)

    async def others_writing(
        self, conversation_id: int, within: float = 600.0
    ) -> list[DraftActivity]:
        return await self._run(
            actions.other_drafts, conversation_id, self.agent, time.time() - within
        )

    @_writes
    async def save_draft(
        self,
        conversation_id: int,
        kind: str,
        body: str,
        *,
        macros: Sequence[DraftMacro] | None = None,
    ) -> None:
        await self._run(actions.save_draft, conversation_id, self.agent, kind, body, macros)

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
        return await self._run(actions.unlink_contacts, merged_id, self.agent)

    @_writes
    async def unlink_last_merge(self, kept_id: int) -> int:
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
        return await self._run(
            actions.acquire_lease, name, owner, ttl, process or processes.current()
        )

    async def release_lease(self, name: str, owner: str) -> None:
        await self._run(actions.release_lease, name, owner)

    @_writes
    @_sla_follows(_touched)
    async def ingest(
        self,
        channel: str,
        messages: Sequence[InboundMessage],
        cursor: str | None = None,
        *,
        update_cursor: bool = True,
    ) -> IngestReport:

        storable = [inbound_text.storable(message) for message in messages]

        def run(conn: Db) -> IngestReport:
            channel_id = actions.channel_id(conn, channel)
            return ingest_sql.ingest_batch(
                conn, channel_id, storable, cursor, update_cursor=update_cursor, rules=self.rules
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
        await self._run(actions.mark_sent, outbox_id, external_id, url, follow_up)

    async def due_followups(self, channel: str, limit: int = 20) -> list[FollowUp]:
        return await self._run(actions.due_followups, channel, limit)

    async def finish_followup(
        self, outbox_id: int, *, error: str | None = None, retry_at: float | None = None
    ) -> None:
        await self._run(actions.finish_followup, outbox_id, error=error, retry_at=retry_at)

    async def waiting_replies(self, channel: str) -> int:
        return await self._run(actions.waiting_replies, channel)

    @_writes
    async def mark_retry(self, outbox_id: int, error: str, next_attempt_at: float) -> None:
        await self._run(actions.mark_retry, outbox_id, error, next_attempt_at)

    @_writes
    async def mark_failed(self, outbox_id: int, error: str) -> None:
        await self._run(actions.mark_failed, outbox_id, error)

    # -- merge, split, move (threading by hand; see :mod:`.threading_changes`) --------------

    @_writes
    async def merge_conversations(self, keep_id: int, other_id: int) -> ThreadingChange:
        return await self._run(threading_changes.merge, keep_id, other_id, self.agent)

    @_writes
    async def split_conversation(self, message_id: int, *, only: bool = False) -> ThreadingChange:
        return await self._run(threading_changes.split, message_id, self.agent, only=only)

    @_writes
    async def move_message(self, message_id: int, conversation_id: int) -> ThreadingChange:
        return await self._run(threading_changes.move, message_id, conversation_id, self.agent)

    @_writes
    async def undo_threading(self, change_id: int, kind: str | None = None) -> ThreadingChange:
        return await self._run(threading_undo.undo, change_id, self.agent, kind)

    async def threading_change(self, change_id: int) -> ThreadingChange:
        return await self._run(threading_changes.change, change_id)

    # -- rules ----------------------------------------------------------------------------------

    def use_rules(self, rules: RuleSet | None) -> None:
        self.rules = rules

    @_writes
    async def run_schedule_rules(self, now: float | None = None) -> dict[str, int]:
        if self.rules is None or self.read_only:
            return {}
        return await self._run(rules_sql.run_schedule, self.rules, now or time.time())

    async def replay_rule(self, rule: Rule, since: float, now: float | None = None) -> RuleReplay:
        return await self._run(rules_replay.replay, rule, since, now or time.time())

    async def last_rule_change(self, conversation_id: int) -> tuple[str, ConversationState] | None:
        return await self._run(rules_sql.last_rule_change, conversation_id)

    @_writes
    async def claim_rule_hooks(self, limit: int = 20) -> list[HookCall]:
        return await self._run(rule_hooks.claim_hooks, time.time(), limit)

    @_writes
    async def finish_rule_hook(self, hook_id: int, error: str | None = None) -> None:
        await self._run(rule_hooks.finish_hook, hook_id, error, time.time())

    @_writes
    async def set_spam(self, ids: Sequence[int], spam: bool = True) -> list[int]:
        return await self._run(spam_sql.set_spam, list(ids), spam, self.agent)

    # -- SLA ----------------------------------------------------------------------------------

    async def use_sla(self, settings: SlaSettings | None) -> int:
        self.sla = settings if settings and settings.policies else None
        if self.read_only:
            return 0
        changed = await self._run(sla_sql.ensure, self.sla, time.time())
        if changed:
            self.local_changes += 1
        return changed

    async def refresh_sla(self) -> int:
        if self.sla is None or self.read_only:
            return 0
        changed = await self._run(sla_sql.refresh, self.sla, time.time())
        if changed:
            self.local_changes += 1
        return changed

    async def _recompute_sla(self, conversation_ids: list[int]) -> None:
        """After a committed write: recompute those conversations' SLA columns. A failure
        is logged, not raised — the write it follows stands, and the columns are derived."""
        if self.sla is None or not conversation_ids:
            return
        try:
            await self._run(sla_sql.recompute_committed, conversation_ids, self.sla, time.time())
        except StoreError as error:
            import logging  # not at the top: a script's read imports this package, and logs nothing

            logging.getLogger(__name__).warning(
                "SLA due times of %s not updated: %s", conversation_ids[:5], error
            )
