"""Settings of the store itself, kept in the store with the data they govern: what the
store's owner allows every agent who opens it (e.g. ``allow_aliases``)."""

from __future__ import annotations

import time

from .db import Db
from .writes import audit

#: Agents of a team store may act under their ``[agent] name`` instead of their account.
ALLOW_ALIASES = "allow_aliases"


def get(conn: Db, key: str) -> str | None:
    row = conn.execute("SELECT value FROM store_settings WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def put(conn: Db, key: str, value: str, agent: str) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO store_settings(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
        audit(conn, agent, "store.setting", None, {"key": key, "value": value}, time.time())
