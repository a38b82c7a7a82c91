"""What an ingest batch may read to decide and then write, named as lock keys, so batches
that share nothing can be written at once (PostgreSQL, several writer processes) while two
that could interfere still go one after the other (see :meth:`.db.Db.transaction`).

Two messages can only meet in the store — one deduplicated against the other, threaded
into the other's conversation, or resolved to the same contact — through something they
share, and every such thing is a key here:

* an external id: its own (a redelivery, a message sharing its id) and the ones it refers
  to (a reply finds what it answers; a later message refers to it; two replies to the same
  unseen message are siblings) — one key per id, whichever side names it;
* a thread key (two chat lines of one thread open one conversation, never two);
* an identity of its author or of whom it was addressed to, one no contact has yet (one
  contact per identity). An identity already stored is only read by a batch (a merge of
  its contact takes the whole store, :meth:`~.dialect.Dialect.exclusive`), so it needs no
  key: the regular customers of four channels do not make the channels' batches wait for
  each other. Addresses are compared lower-cased here for every namespace: coarser than
  the store's own comparison (only mail is case-insensitive there), so two identities the
  store takes for one always share a key; the cost of the coarseness is only an
  occasional wait.

A conversation a stored message already belongs to is guarded by its row lock
(:meth:`.ingest_lookups.BatchLookups.conversation_state`), a search key taken at the same moment by
another writer by the retry of :func:`.postgres.connection.retryable`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..plugin import InboundMessage
from .db import Db

#: Identities looked up in one statement.
CHUNK = 200


def ingest_keys(
    conn: Db, channel_id: int, messages: Sequence[InboundMessage], *, cursor: bool
) -> frozenset[str]:
    """The lock keys of a batch of ``messages`` for the channel ``channel_id`` (that also
    writes the channel's cursor when ``cursor``: two such batches go in turn, so the
    cursor never moves back), read before its transaction begins (on a backend whose
    writers given keys run at once; empty on the others, where nothing would use them)."""
    # Here, not at the top: ingest_sql (where the store's spelling of an identity is
    # decided) imports this module.
    from .ingest_sql import normalize_identity

    if not conn.dialect.keyed_writers:
        return frozenset()
    keys: set[str] = {f"c:{channel_id}"} if cursor else set()
    people: set[tuple[str, str]] = set()
    for message in messages:
        keys.add(f"m:{channel_id}:{message.external_id}")
        keys.update(f"m:{channel_id}:{reference}" for reference in message.references)
        if message.thread_key is not None:
            keys.add(f"t:{channel_id}:{message.thread_key}")
        people.update(map(normalize_identity, (*message.author.identities, *message.participants)))
    keys.update(
        f"i:{namespace}:{address.lower()}" for namespace, address in people - _stored(conn, people)
    )
    return frozenset(keys)


def _stored(conn: Db, people: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of ``people`` (as the store spells them) the store has an identity for."""
    # A namespace at a time, its addresses as one list: one range of the identities'
    # unique index to read. Pairs ORed together (namespace = ? AND address = ?) cost the
    # server a plan of hundreds of branches and an index scan each (1-8 ms a batch).
    addresses: dict[str, list[str]] = {}
    for namespace, address in sorted(people):
        addresses.setdefault(namespace, []).append(address)
    found: set[tuple[str, str]] = set()
    for namespace, listed in addresses.items():
        for start in range(0, len(listed), CHUNK):
            chunk = listed[start : start + CHUNK]
            rows = conn.execute(
                "SELECT address FROM identities WHERE namespace = ?"
                f" AND address IN ({', '.join('?' * len(chunk))})",
                (namespace, *chunk),
            )
            found.update((namespace, str(address)) for (address,) in rows)
    return found
