"""What an ingest batch looks up once instead of once per message: the stored messages
sharing an id with one of the batch's, which search keys are free, whether any conversation
was merged away (:mod:`.redirects`), the contacts of the identities it met.

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
from .db import Db
from .writes import SearchEntry, allocate_search_key, search_key_for

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


def _chunks(values: Sequence[_Value]) -> Iterable[Sequence[_Value]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class BatchLookups:
    """The batch's view of the store, valid inside its write transaction."""

    def __init__(
        self,
        conn: Db,
        channel_id: int,
        external_ids: Iterable[str],
        sent_times: Iterable[float],
    ) -> None:
        self._same_id: dict[str, list[SameId]] = {}
        for ids in _chunks(list(dict.fromkeys(external_ids))):
            rows = conn.execute(
                f"SELECT {_SAME_ID.sql}, external_id FROM messages WHERE channel_id = ?"
                f" AND external_id IN ({','.join('?' * len(ids))}) ORDER BY id",
                (channel_id, *ids),
            )
            for row in rows:
                self._same_id.setdefault(str(row[-1]), []).append(_SAME_ID.build(row[:-1]))
        #: Keys of the batch's times that no message has: given out without a statement.
        self._free_keys = set(dict.fromkeys(search_key_for(t) for t in sent_times))
        for keys in _chunks(list(self._free_keys)):
            rows = conn.execute(
                f"SELECT search_key FROM messages WHERE search_key IN ({','.join('?' * len(keys))})",
                tuple(keys),
            )
            self._free_keys.difference_update(int(row[0]) for row in rows)
        #: Which contact each identity has (see :func:`.ingest_sql.resolve_contact`).
        self.contacts: dict[tuple[str, str], int] = {}
        #: The search entries of the messages stored so far, written at the batch's end
        #: (see :func:`.writes.insert_message`).
        self.search_entries: list[SearchEntry] = []
        self._redirects = (
            conn.execute("SELECT 1 FROM conversation_redirects LIMIT 1").fetchone() is not None
        )

    def same_id(self, external_id: str) -> list[SameId]:
        """Messages of the channel with ``external_id`` (stored before or earlier in this
        batch), oldest first."""
        return self._same_id.get(external_id, [])

    def stored(self, external_id: str, message: SameId) -> None:
        """The batch stored ``message`` under ``external_id``."""
        self._same_id.setdefault(external_id, []).append(message)

    def search_key(self, conn: Db, sent_at: float) -> int:
        """The search key of a message sent at ``sent_at`` (see
        :func:`.writes.allocate_search_key`); the batch's times were looked up at once, so
        only a collision costs a statement. The message must be stored before the next call
        (the store then knows its key is taken)."""
        key = search_key_for(sent_at)
        if key in self._free_keys:
            self._free_keys.discard(key)
            return key
        key = allocate_search_key(conn, sent_at)
        self._free_keys.discard(key)
        return key

    def resolve(self, conn: Db, conversation_id: int) -> int:
        """Where ``conversation_id`` lives now (:func:`.redirects.resolve`); no statement
        while no conversation of the store was ever merged away."""
        return redirects.resolve(conn, conversation_id) if self._redirects else conversation_id
