"""Reading a SQLite store file on a plain read-only ``sqlite3`` connection, without the
async machinery: for a script's command that only reads (``list``, ``show``, ``search``),
which then starts in milliseconds. The shared read functions (:mod:`.queries`) run on it
directly, as :class:`~agentconsole.store.SqlStore` runs them on its backend.

Only a store that needs no write first is read this way: :func:`connect_for_reading`
answers None when opening it the normal way (:func:`agentconsole.store.connect`) would
migrate it, wake snoozed conversations, recompute SLA due times, or fail — the caller then
opens it the normal way, which does that (or says why it cannot).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import StoreError
from . import upkeep
from .sqlite import connection
from .sqlite.connection import SqliteDb

if TYPE_CHECKING:
    from ..sla import SlaSettings
    from .db import Db

T = TypeVar("T")


def connect_for_reading(
    path: Path, sla: SlaSettings | None, *, wake: bool, now: float
) -> SqliteDb | None:
    """A read-only connection to the store file at ``path``, or None when it must be opened
    the normal way: it needs a migration, its SLA columns were computed under other policies
    than ``sla``, or (``wake``, what ``list`` does first) snoozed conversations are due to
    reopen, or it cannot be opened here. A store this process cannot write is read as it
    is, as the normal way does. The caller closes the connection."""
    try:
        conn = connection._open_read_only(path)  # noqa: SLF001 — the backend's own opener
    except StoreError:
        return None
    try:
        # A store this process cannot write is opened read-only the normal way too, and
        # then nothing is written first either.
        if connection._writable(path):  # noqa: SLF001
            stored, wanted = upkeep.sla_fingerprints(conn, sla)
            if stored != wanted or (wake and upkeep.snoozed_due(conn, now)):
                conn.close()
                return None
    except sqlite3.Error:
        conn.close()
        return None
    return conn


def read(conn: Db, path: Path, function: Callable[..., T], *args: Any) -> T:
    """``function(conn, *args)``; a driver error leaves as the
    :class:`~agentconsole.errors.StoreError` it means, as the backend's ``run`` does."""
    try:
        return function(conn, *args)
    except sqlite3.Error as error:
        raise connection.translate(error, path) from error
