"""The SQLite backend: one file, WAL, ``BEGIN IMMEDIATE`` writers, FTS5. Every call runs on
aiosqlite's connection thread, a whole store function per hop (not one per statement)."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import connection

if TYPE_CHECKING:
    import aiosqlite

# aiosqlite (and asyncio) load when a store is opened: a script reading the store file on
# a plain sqlite3 connection (:mod:`..readonly`) imports this package without them.

T = TypeVar("T")


class SqliteBackend:
    name = "sqlite"
    announces_changes = False

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self.location = str(path)
        self.read_only = False

    @classmethod
    async def open(cls, path: Path) -> SqliteBackend:
        import asyncio

        import aiosqlite

        db = aiosqlite.Connection(functools.partial(connection.connect, path), iter_chunk_size=256)
        # A store left open (an exception before close) must not keep the process alive.
        db._thread.daemon = True  # noqa: SLF001
        try:
            await db
        except BaseException:
            # aiosqlite stops its thread on a failed connect; let it finish while the loop
            # is alive so it can report back.
            await asyncio.to_thread(db._thread.join, 5)  # noqa: SLF001
            raise
        backend = cls(db, path)
        backend.read_only = await backend.run(connection.is_read_only)
        return backend

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # aiosqlite's _execute runs a callable on its connection thread; we hand it whole
        # operations instead of single statements.
        execute: Callable[..., Awaitable[T]] = self._db._execute  # noqa: SLF001
        try:
            return await execute(function, self._db._conn, *args, **kwargs)  # noqa: SLF001
        except sqlite3.Error as error:
            raise connection.translate(error, self.path) from error

    async def change_token(self) -> int:
        # PRAGMA data_version changes when another connection commits.
        return await self.run(_data_version)

    async def wait_for_change(self, timeout: float) -> bool:
        import asyncio

        # SQLite announces nothing: callers poll change_token.
        await asyncio.sleep(timeout)
        return False

    def channel_data_dir(self, channel: str) -> Path:
        return self.path.with_suffix(".channels") / channel

    async def close(self) -> None:
        await self._db.close()


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
