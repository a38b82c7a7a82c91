"""What an ingest batch looks up once instead of once per message: the stored messages
sharing an id with one of the batch's or named by one's references, the stored messages
referring to those ids, the conversations of its thread keys (all threading reads: see
:meth:`BatchLookups.threading_evidence`), the state of those conversations (locked for the
batch: :meth:`BatchLookups.conversation_state`), which search keys are free, whether any
conversation was merged away (:mod:`.redirects`), the contacts of the identities it names.

On PostgreSQL each statement is a network round trip, so a lookup per message is a round
trip per message; here a batch of 1,000 pays a few. The answers stay true through the batch
because the batch itself is the only writer (it holds the write transaction) and tells
:class:`BatchLookups` what it stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from . import redirects
from .columns import Columns
from .conversation_updates import ConversationUpdates
from .db import Db
from .writes import DeferredWrites, allocate_search_key, search_key_for

_Value = TypeVar("_Value")

#: Values bound in one ``IN (…)`` list (well under SQLite's and PostgreSQL's limits).
CHUNK = 500


@dataclass(frozen=True, slots=True)
class SameId:
    """A stored message with the external id of the one being ingested."""

    message_id: int
    conversation_id: int
    content_digest: str | None


_SAME_ID = Columns(
    SameId,
    {"message_id": "id", "conversation_id": "conversation_id", "content_digest": "content_digest"},
)


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the ingest of a message into a stored conversation reads of it first."""

    status: str
    last_message_at: float
    #: A customer has written in it (an inbound message).
    customer_wrote: bool
    #: A bot opened it and no customer has written yet (see ``ingest_sql._ingest_one``).
    opened_by_bot: bool

    def joined_by(
        self, *, latest: float, customer: bool, bot: bool, status: str
    ) -> ConversationState:
        """The state after a message (a customer's, or a bot's) joined it, leaving its
        latest time ``latest`` and its status ``status``."""
        customer_wrote = self.customer_wrote or customer
        return ConversationState(
            status, latest, customer_wrote, not customer_wrote and (self.opened_by_bot or bot)
        )


def opened_state(sent_at: float, *, customer: bool, bot: bool) -> ConversationState:
    """The state of a conversation a message sent at ``sent_at`` just opened."""
    return ConversationState("open", sent_at, customer, bot and not customer)


_STATE = Columns(
    ConversationState,
    {
        "status": "c.status",
        "last_message_at": "c.last_message_at",
        "customer_wrote": "EXISTS (SELECT 1 FROM messages WHERE conversation_id = c.id"
        " AND direction = 'in')",
        "opened_by_bot": "NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = c.id"
        " AND direction = 'in') AND EXISTS (SELECT 1 FROM messages"
        " WHERE conversation_id = c.id AND author_role = 'bot')",
    },
    convert={
        "status": str,
        "last_message_at": float,
        "customer_wrote": bool,
        "opened_by_bot": bool,
    },
)


def _chunks(values: Sequence[_Value]) -> Iterable[Sequence[_Value]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


#: What a row of :meth:`BatchLookups.threading_evidence` is: a stored message the new one
#: refers to, a sibling (a stored message referring to what it refers to), a stored message
#: referring to it, a conversation with its thread key.
REFERS, SIBLING, REFERENCED_BY, THREAD_KEY = 0, 1, 2, 3


class BatchLookups:
    """The batch's view of the store, valid inside its write transaction."""

    def __init__(
        self,
        conn: Db,
        channel_id: int,
        external_ids: Iterable[str],
        sent_times: Iterable[float],
        references: Iterable[str] = (),
        thread_keys: Iterable[str] = (),
        identities: Iterable[tuple[str, str]] = (),
        now: float = 0.0,
    ) -> None:
        own_ids = list(dict.fromkeys(external_ids))
        named = list(dict.fromkeys([*own_ids, *references]))
        #: Messages of the channel by external id, oldest first: the batch's own ids (its
        #: duplicates) and those its references name.
        self._same_id: dict[str, list[SameId]] = {}
        for ids in _chunks(named):
            rows = conn.execute(
                f"SELECT {_SAME_ID.sql}, external_id FROM messages WHERE channel_id = ?"
                f" AND external_id IN ({','.join('?' * len(ids))}) ORDER BY id",
                (channel_id, *ids),
            )
            for row in rows:
                self._same_id.setdefault(str(row[-1]), []).append(_SAME_ID.build(row[:-1]))
        #: For each of those ids, the oldest message of the channel referring to it:
        #: ``(message id, conversation)``. Each lookup starts from the index on the id
        #: (``message_refs_external``; CROSS JOIN fixes that order on SQLite), so its cost
        #: is the size of the threads the batch answers, never of the store.
        self._referring: dict[str, tuple[int, int]] = {}
        for ids in _chunks(named):
            rows = conn.execute(
                "SELECT r.external_id, m.id, m.conversation_id"
                " FROM message_refs r CROSS JOIN messages m WHERE m.id = r.message_id"
                f" AND r.external_id IN ({','.join('?' * len(ids))}) AND m.channel_id = ?",
                (*ids, channel_id),
            )
            for external_id, message_id, conversation_id in rows:
                known = self._referring.get(str(external_id))
                if known is None or int(message_id) < known[0]:
                    self._referring[str(external_id)] = (int(message_id), int(conversation_id))
        #: The channel's conversations by thread key (those the batch names).
        self._thread_keys: dict[str, int] = {}
        for names in _chunks(list(dict.fromkeys(thread_keys))):
            rows = conn.execute(
                "SELECT thread_key, id FROM conversations WHERE channel_id = ?"
                f" AND thread_key IN ({','.join('?' * len(names))})",
                (channel_id, *names),
            )
            self._thread_keys.update((str(key), int(id_)) for key, id_ in rows)
        #: Keys of the batch's times that no message has: given out without a statement.
        self._free_keys = set(dict.fromkeys(search_key_for(t) for t in sent_times))
        for keys in _chunks(list(self._free_keys)):
            rows = conn.execute(
                f"SELECT search_key FROM messages WHERE search_key IN ({','.join('?' * len(keys))})",
                tuple(keys),
            )
            self._free_keys.difference_update(int(row[0]) for row in rows)
        #: Which contact each identity has, and which identities no contact has (see
        #: :func:`.ingest_sql.resolve_contact`): those the batch names, read at once.
        self.contacts: dict[tuple[str, str], int] = {}
        self.no_contact: set[tuple[str, str]] = set()
        self._read_contacts(conn, identities)
        #: The search entries and references of the messages stored so far, written at
        #: the batch's end (nothing in the batch reads them before: threading asks this).
        self.deferred = DeferredWrites(len(own_ids))
        #: What the batch's messages change in their conversations, written at its end.
        self.updates = ConversationUpdates(now)
        self._redirects = (
            conn.execute("SELECT 1 FROM conversation_redirects LIMIT 1").fetchone() is not None
        )
        #: The conversations the batch may write to, as it left them so far.
        self._states: dict[int, ConversationState] = {}
        found = {same.conversation_id for rows in self._same_id.values() for same in rows}
        found.update(conversation_id for _, conversation_id in self._referring.values())
        found.update(self._thread_keys.values())
        self._read_states(conn, sorted({self.resolve(conn, c) for c in found}))

    def _read_contacts(self, conn: Db, identities: Iterable[tuple[str, str]]) -> None:
        wanted: dict[str, list[str]] = {}
        for namespace, address in dict.fromkeys(identities):
            wanted.setdefault(namespace, []).append(address)
        for namespace, addresses in wanted.items():
            for chunk in _chunks(addresses):
                rows = conn.execute(
                    "SELECT address, contact_id FROM identities WHERE namespace = ?"
                    f" AND address IN ({','.join('?' * len(chunk))})",
                    (namespace, *chunk),
                )
                self.contacts.update(((namespace, str(a)), int(c)) for a, c in rows)
            self.no_contact.update(
                (namespace, a) for a in addresses if (namespace, a) not in self.contacts
            )

    def _read_states(self, conn: Db, conversation_ids: Sequence[int]) -> None:
        # Locked until the batch commits, in one order (by id): another writer's batch may
        # add to one at once (through another message of it, or its token) and must not
        # update it from a state read before this one's update.
        for ids in _chunks(conversation_ids):
            rows = conn.execute(
                f"SELECT c.id, {_STATE.sql} FROM conversations c"
                f" WHERE c.id IN ({','.join('?' * len(ids))}) ORDER BY c.id"
                + conn.dialect.row_lock("c", skip_locked=False),
                tuple(ids),
            )
            self._states.update((int(row[0]), _STATE.build(row[1:])) for row in rows)

    def conversation_state(self, conn: Db, conversation_id: int) -> ConversationState:
        """The stored conversation ``conversation_id`` as the batch left it so far (read,
        and locked, when the batch did not read it at its start)."""
        if conversation_id not in self._states:
            self._read_states(conn, [conversation_id])
        return self._states[conversation_id]

    def noted(self, conversation_id: int, state: ConversationState) -> None:
        """The batch left ``conversation_id`` in ``state`` (opened it, or wrote to it)."""
        self._states[conversation_id] = state

    def same_id(self, external_id: str) -> list[SameId]:
        """Messages of the channel with ``external_id`` (stored before or earlier in this
        batch), oldest first."""
        return self._same_id.get(external_id, [])

    def stored(
        self,
        external_id: str,
        message: SameId,
        references: Sequence[str] = (),
        thread_key: str | None = None,
        opened: bool = False,
    ) -> None:
        """The batch stored ``message`` under ``external_id``, referring to ``references``
        (``opened``: it opened its conversation, under ``thread_key``). Its id is larger
        than any stored, so an oldest-message answer it could change has none yet."""
        self._same_id.setdefault(external_id, []).append(message)
        for reference in references:
            self._referring.setdefault(reference, (message.message_id, message.conversation_id))
        if opened and thread_key is not None:
            self._thread_keys.setdefault(thread_key, message.conversation_id)

    def threading_evidence(
        self, external_id: str, references: Sequence[str], thread_key: str | None
    ) -> dict[tuple[int, str], int]:
        """Every lookup threading may need (see :func:`.ingest_sql._find_conversation`):
        ``(kind, id or key) → conversation``, without a statement. A reference's stored
        message is the oldest with that id; the sibling is the oldest message referring to
        the first (in byte order) of the references anything refers to; the referring
        message is the oldest referring to ``external_id``."""
        evidence: dict[tuple[int, str], int] = {}
        unique = list(dict.fromkeys(references))
        for reference in unique:
            known = self._same_id.get(reference)
            if known:
                evidence[(REFERS, reference)] = known[0].conversation_id
        for reference in sorted(unique):
            sibling = self._referring.get(reference)
            if sibling is not None:
                evidence[(SIBLING, reference)] = sibling[1]
                break
        referring = self._referring.get(external_id)
        if referring is not None:
            evidence[(REFERENCED_BY, external_id)] = referring[1]
        if thread_key is not None and thread_key in self._thread_keys:
            evidence[(THREAD_KEY, thread_key)] = self._thread_keys[thread_key]
        return evidence

    def search_key(self, conn: Db, sent_at: float) -> int:
        """The search key of a message sent at ``sent_at`` (see
        :func:`.writes.allocate_search_key`); the batch's times were looked up at once, so
        only a collision costs a statement. The message must be stored before the next call
        (the store, or the batch's pending rows, then know its key is taken)."""
        key = search_key_for(sent_at)
        if key in self._free_keys:
            self._free_keys.discard(key)
            return key
        self.deferred.flush_rows(conn)  # the keys the batch gave out so far are taken
        key = allocate_search_key(conn, sent_at)
        self._free_keys.discard(key)
        return key

    def resolve(self, conn: Db, conversation_id: int) -> int:
        """Where ``conversation_id`` lives now (:func:`.redirects.resolve`); no statement
        while no conversation of the store was ever merged away."""
        return redirects.resolve(conn, conversation_id) if self._redirects else conversation_id
