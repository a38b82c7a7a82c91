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
* an identity of its author or of whom it was addressed to (one contact per identity).
  Addresses are compared lower-cased here for every namespace: coarser than the store's own
  comparison (only mail is case-insensitive there), so two identities the store takes for
  one always share a key; the cost of the coarseness is only an occasional wait.

A conversation a stored message already belongs to is guarded by its row lock
(``_conversation_state`` in :mod:`.ingest_sql`), a search key taken at the same moment by
another writer by the retry of :func:`.postgres.connection.retryable`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..plugin import InboundMessage


def ingest_keys(channel_id: int, messages: Iterable[InboundMessage]) -> frozenset[str]:
    """The lock keys of a batch of ``messages`` for the channel ``channel_id``."""
    keys: set[str] = set()
    for message in messages:
        keys.add(f"m:{channel_id}:{message.external_id}")
        keys.update(f"m:{channel_id}:{reference}" for reference in message.references)
        if message.thread_key is not None:
            keys.add(f"t:{channel_id}:{message.thread_key}")
        for person in (*message.author.identities, *message.participants):
            keys.add(f"i:{person.namespace}:{person.address.strip().lower()}")
    return frozenset(keys)
