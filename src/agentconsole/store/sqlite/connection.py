"""Opening the SQLite file: pragmas, numbered migrations, write transactions, and what a
driver error means for the store (:func:`translate`)."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from ...errors import (
    StoreBusyError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from .. import migration_files, permissions
from .dialect import SQLITE, SqliteDialect

BUSY_TIMEOUT_MS = 10_000


class SqliteDb(sqlite3.Connection):
    """A store connection: :class:`sqlite3.Connection` with what :class:`~..db.Db` adds."""

    dialect: SqliteDialect = SQLITE

    def transaction(
        self, *, row_locks: bool = False, keys: Collection[str] | None = None
    ) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self)


def _migrations() -> list[tuple[int, str, str]]:
    return migration_files.bundled("agentconsole.store.sqlite")


def connect(path: str | Path) -> SqliteDb:
    """Open (creating if needed) and migrate the store at ``path``.

    The connection is in autocommit mode: writers open their transactions with
    :func:`write_transaction` (``BEGIN IMMEDIATE``), which takes the write lock up front so
    two processes can never deadlock upgrading a read lock.

    A store this process cannot write (the file, its folder or the file system is read-only)
    is opened read-only: reads work, every write raises :class:`StoreReadOnlyError`, and
    :func:`is_read_only` says so. Nothing is migrated then: a store that needs a migration
    raises :class:`StoreReadOnlyError` saying it must be opened once with write access.
    Every failure is a :class:`StoreError` (see :func:`translate`).
    """
    path = Path(path)
    if _writable(path):
        try:
            return _open_writable(path)
        except StoreReadOnlyError:
            if not path.exists():
                raise
            # access() said yes but SQLite could not write (a read-only mount, an ACL).
    if not path.exists():
        raise StoreReadOnlyError(
            f"cannot create the store at {path}: the folder {_existing_parent(path)} is "
            "not writable"
        )
    return _open_read_only(path)


def _existing_parent(path: Path) -> Path:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _writable(path: Path) -> bool:
    """Whether this process may write the store file and create its -wal / -shm beside it."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return os.access(_existing_parent(path), os.W_OK)


def _open_writable(path: Path) -> SqliteDb:
    try:
        permissions.prepare(path)  # private folder and file, whatever the umask
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, factory=SqliteDb
        )
    except OSError as error:
        raise StoreUnavailableError(f"cannot open the store at {path}: {error}") from error
    except sqlite3.Error as error:
        raise translate(error, path) from error
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        _tune(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set it here
        migrate(conn, path)
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as error:
        conn.close()
        raise translate(error, path) from error
    except BaseException:
        conn.close()
        raise
    return conn


def _tune(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB


def _open_read_only(path: Path) -> SqliteDb:
    """Read-only: ``mode=ro``; when SQLite cannot read a WAL store that way (its -shm cannot
    be created in a read-only folder) ``immutable=1`` — only when there is no -wal file, so
    no writer has it open and no committed change waits in a WAL that would be ignored."""
    base = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
    uris = [base]
    if not Path(f"{path}-wal").exists():
        uris.append(base + "&immutable=1")
    last: sqlite3.Error | None = None
    for uri in uris:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, factory=SqliteDb
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only = ON")
            _tune(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as error:
            conn.close()
            last = error
            if (error.sqlite_errorcode & 0xFF) in (SQLITE_NOTADB, SQLITE_CORRUPT):
                break
            continue
        try:
            _check_version(current, path, read_only=True)
        except BaseException:
            conn.close()
            raise
        return conn
    assert last is not None
    raise translate(last, path) from last


def is_read_only(conn: sqlite3.Connection) -> bool:
    """Whether ``conn`` was opened read-only by :func:`connect`."""
    return bool(conn.execute("PRAGMA query_only").fetchone()[0])


def _check_version(current: int, path: Path, *, read_only: bool = False) -> None:
    latest = migration_files.latest("agentconsole.store.sqlite")
    if current > latest:
        raise StoreError(
            f"{path} was written by a newer agentconsole (schema {current}, this one knows "
            f"{latest}); upgrade agentconsole to open it"
        )
    if read_only and current < latest:
        raise StoreReadOnlyError(
            f"the store at {path} is read-only and needs an upgrade (schema {current} to "
            f"{latest}) this agentconsole cannot write: open it once with write access"
        )


# SQLite's primary result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``).
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN = 10, 11, 13, 14
SQLITE_NOTADB = 26


def translate(error: sqlite3.Error, path: Path) -> Exception:
    """The :class:`StoreError` a driver error means, with a message naming the store.

    Errors that are not about the store's state (a constraint, a programming error) are
    returned unchanged: they are bugs, not conditions to report.
    """
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreBusyError(
            f"the store is busy: another process held {path} for more than "
            f"{BUSY_TIMEOUT_MS / 1000:g} s; try again"
        )
    if code == SQLITE_FULL:
        return StoreFullError(f"the disk is full: the store at {path} cannot grow{_free(path)}")
    if code == SQLITE_READONLY:
        return StoreReadOnlyError(f"the store at {path} is read-only")
    if code in (SQLITE_NOTADB, SQLITE_CORRUPT):
        return StoreError(f"{path} is not an agentconsole store: {error}")
    if code in (SQLITE_PERM, SQLITE_IOERR, SQLITE_CANTOPEN):
        return StoreUnavailableError(f"cannot read the store at {path}: {error}")
    if isinstance(error, sqlite3.OperationalError):
        return StoreError(f"the store at {path}: {error}")
    return error


def _free(path: Path) -> str:
    import shutil  # only for this message: not on every open

    try:
        free = shutil.disk_usage(_existing_parent(path) if not path.exists() else path.parent).free
    except OSError:
        return ""
    return f" ({free / 1_000_000:.1f} MB free on its disk)"


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply every migration newer than ``PRAGMA user_version``, in one transaction (taken
    only when there is something to apply, so an up-to-date store opens without writing).

    Runs with foreign keys off (the caller switches them on after it), so a migration can
    rebuild a table the way SQLite documents it; ``PRAGMA foreign_key_check`` must then come
    out clean before the transaction commits. Raises :class:`StoreError` naming the file for
    a store written by a newer version or a migration that fails (nothing is changed then).
    """
    migrations = _migrations()
    latest = migrations[-1][0] if migrations else 0
    if conn.execute("PRAGMA user_version").fetchone()[0] == latest:
        return
    with write_transaction(conn):
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        _check_version(current, path)
        for number, name, sql in migrations:
            if number <= current:
                continue
            try:
                for statement in _statements(sql):
                    conn.execute(statement)
            except sqlite3.Error as error:
                meaning = translate(error, path)
                if isinstance(meaning, StoreError) and meaning.temporary:
                    raise meaning from error
                raise StoreError(f"migration {name} failed on {path}: {error}") from error
            conn.execute(f"PRAGMA user_version = {number}")
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
        if conn.in_transaction:  # SQLite rolls back itself on some errors (SQLITE_FULL)
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
