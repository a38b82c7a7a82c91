"""Waiting, in PostgreSQL tests, for what the server shows: a session blocked on a lock."""

from __future__ import annotations

import asyncio

import psycopg


async def someone_waits_for_a_lock(
    watcher: psycopg.Connection[object], what: str = "no session waited for a lock"
) -> None:
    """Until a session of this database waits for a lock another holds (5 s at most, then
    ``AssertionError(what)``)."""
    for _ in range(500):
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        ).fetchone()
        if row and row[0]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(what)
