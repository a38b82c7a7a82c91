"""Opening the SQLite file: pragmas, numbered migrations and write transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from ..errors import StoreError
from . import permissions

BUSY_TIMEOUT_MS = 10_000


def _migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every bundled migration, in order."""
    folder = resources.files("agentconsole.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the store at ``path``.

    The connection is in autocommit mode: writers open their transactions with
    :func:`write_transaction` (``BEGIN IMMEDIATE``), which takes the write lock up front so
    two processes can never deadlock upgrading a read lock.
    """
    path = Path(path)
    try:
        permissions.prepare(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as error:
        raise StoreError(f"cannot open store {path}: {error}") from error
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as error:
        conn.close()
        raise StoreError(f"{path} is not an agentconsole store: {error}") from error
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB
    conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set it here
    migrate(conn, path)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply every migration newer than ``PRAGMA user_version``, all in one transaction.

    Runs with foreign keys off (they are switched on after it), so a migration can rebuild
    a table the way SQLite documents it; ``PRAGMA foreign_key_check`` must then come out
    clean before the transaction commits. Raises :class:`StoreError` naming the file for a
    store written by a newer version or a migration that fails (nothing is changed then).
    """
    migrations = _migrations()
    latest = migrations[-1][0] if migrations else 0
    with write_transaction(conn):
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > latest:
            raise StoreError(
                f"{path} was written by a newer agentconsole (schema {current}, this one knows "
                f"{latest}); upgrade agentconsole to open it"
            )
        pending = [(number, name, sql) for number, name, sql in migrations if number > current]
        for number, name, sql in pending:
            try:
                for statement in _statements(sql):
                    conn.execute(statement)
            except sqlite3.Error as error:
                raise StoreError(f"migration {name} failed on {path}: {error}") from error
            conn.execute(f"PRAGMA user_version = {number}")
        if pending:
            broken = conn.execute("PRAGMA foreign_key_check").fetchone()
            if broken is not None:
                raise StoreError(
                    f"migrating {path} left a dangling reference in table {broken[0]}"
                    " (nothing was changed)"
                )


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (``executescript`` would commit our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer
            buffer = ""
    if buffer.strip():
        yield buffer


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
