"""Where a conversation that was merged away now lives.

A conversation merged into another (or the part split off when the split is undone) keeps
its row — its audit entries still name it — and gets a redirect: opening it, acting on it
and threading new messages by its token or thread key all go to the conversation it points
to, and it leaves every view.

``conversation_redirects`` is the record; ``conversations.redirected`` is a copy of it that
triggers keep (migration 018), for the sidebar's counts: their partial indexes leave
redirected conversations out, so a count reads no list (see
:func:`.compile_query.compile_count`).
"""

from __future__ import annotations

from .db import Db

#: A condition on conversations ``c``: not merged away (true for every conversation shown).
#: ``NOT IN`` a small table, so the queue's covering indexes still serve the view.
NOT_REDIRECTED = "c.id NOT IN (SELECT conversation_id FROM conversation_redirects)"

#: Redirects followed at most (a chain of merges); a longer one would be a loop.
_MAX_HOPS = 64


def resolve(conn: Db, conversation_id: int) -> int:
    """The conversation ``conversation_id`` stands for now: itself, or where its redirects
    lead (merges chain: #7 merged into #5, later merged into #3, is #3)."""
    current = conversation_id
    for _ in range(_MAX_HOPS):
        row = conn.execute(
            "SELECT target_id FROM conversation_redirects WHERE conversation_id = ?", (current,)
        ).fetchone()
        if row is None:
            return current
        current = int(row[0])
    return current
