"""Keeping the full-text index quick to read as it grows.

SQLite's FTS5 index grows in pieces (segments): each write transaction adds one, and
FTS5 merges them only by fours, so 500,000 messages ingested in batches sit in about two
dozen. Every lookup of a word opens each piece: on the 100,000-conversation bench store,
checking 721 messages for a word took 75-109 ms in 24 pieces and 8-18 ms in one, and a
rare word's list 2.1 ms against 0.1 ms — rules whose conditions hold words pay it per
batch. Merging is done in bounded steps, each its own short write transaction, so writers
wait at most one step (about 0.25 s at 500,000 messages) and never the whole merge
(6 s there); the sync runner takes the steps while its channels are quiet.
"""

from __future__ import annotations

from .db import Db

#: Merging starts when the index is in at least this many pieces: merging rewrites the
#: whole index, so it is not redone for every few new pieces.
MERGE_FROM = 8
#: The work of one step, in index pages (about 0.25 s at 500,000 messages).
STEP_PAGES = 2000


def compact_step(conn: Db, *, started: bool, pages: int = STEP_PAGES) -> bool:
    """One step of merging the index into one piece, when it is in :data:`MERGE_FROM`
    pieces or more, or in more than one once ``started`` (a merge under way goes on to
    the end). Returns whether another step has work."""
    # Read first, outside a write transaction: most calls find nothing to do (always on
    # PostgreSQL) and must not take the store's write lock for it.
    if conn.dialect.search_index_pieces(conn) < (2 if started else MERGE_FROM):
        return False
    with conn.transaction():
        conn.dialect.merge_search_index(conn, pages)
    return conn.dialect.search_index_pieces(conn) > 1
