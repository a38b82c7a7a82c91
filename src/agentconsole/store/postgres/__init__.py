"""The PostgreSQL backend: psycopg 3 with its connection pool, one writer at a time (an
advisory lock, as SQLite's write lock; ingest batches that share nothing at once),
deadlocks retried, ``LISTEN/NOTIFY`` for live
updates, ``tsvector`` search. Each call runs a whole
store function on a pooled connection in a worker thread, so the business rules are the
same code as on SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from ... import paths
from ...errors import StoreBusyError, StoreError, StoreUnavailableError
from . import connection, roles
from .connection import CHANGES_CHANNEL, PostgresDb

T = TypeVar("T")
log = logging.getLogger(__name__)

#: A call the server broke off for a conflict (a deadlock, a serialization failure) is re-run
#: (after a short random pause, growing with each try) for this long before the store
#: reports itself busy, as SQLite's busy timeout does.
RETRY_SECONDS = 10.0
#: Connections per process: the TUI's loads and the sync runner's writes overlap.
POOL_SIZE = 4
CONNECT_TIMEOUT_S = 10


def describe(url: str) -> str:
    """``url`` as the store's name in messages: without its password."""
    try:
        params = pg_conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return re.sub(r"(//[^:/@]*):[^@]*@", r"\1:***@", url)
    params.pop("password", None)
    database = params.get("dbname", "")
    host = str(params.get("host") or "")
    port = f":{params['port']}" if params.get("port") else ""
    user = f"{params['user']}@" if params.get("user") else ""
    if host.startswith("/"):  # a Unix socket folder
        return f"postgresql://{user}/{database}?host={host}{port and '&port=' + port[1:]}"
    return f"postgresql://{user}{host}{port}/{database}"


class PostgresBackend:
    name = "postgresql"
    announces_changes = True

    def __init__(self, url: str, pool: ConnectionPool[Any], read_only: bool) -> None:
        self._url = url
        self._pool = pool
        self.location = describe(url)
        self.read_only = read_only
        self._changes = 0
        #: ``_changes`` as the last :meth:`wait_for_change` returned.
        self._seen = 0
        self._listening = False
        self._listener: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @classmethod
    async def open(cls, url: str) -> PostgresBackend:
        location = describe(url)
        read_only = await asyncio.to_thread(_prepare, url, location)
        pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True},
            open=False,
            name="agentconsole",
        )
        try:
            await asyncio.to_thread(pool.open, wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout as error:
            await asyncio.to_thread(pool.close)
            raise StoreUnavailableError(f"cannot reach the store at {location}: {error}") from error
        backend = cls(url, pool, read_only)
        await backend._listen()
        return backend

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(self._call, function, args, kwargs)

    def _call(self, function: Callable[..., T], args: Any, kwargs: Any) -> T:
        give_up = time.monotonic() + RETRY_SECONDS
        attempt = 0
        while True:
            try:
                with self._pool.connection() as conn:
                    return function(PostgresDb(conn), *args, **kwargs)
            except psycopg.Error as error:
                if connection.retryable(error) and time.monotonic() < give_up:
                    attempt += 1
                    time.sleep(random.uniform(0, min(0.1, 0.001 * 2**attempt)))
                    continue
                raise connection.translate(error, self.location) from error
            except PoolTimeout as error:
                raise StoreBusyError(
                    f"the store at {self.location} is busy: no connection free ({error})"
                ) from error

    async def _listen(self) -> None:
        """Count the change notifications every committed write sends (any process, any
        machine); :meth:`change_token` is that count."""
        try:
            listener = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        except psycopg.Error as error:
            log.warning("no live updates from %s: %s", self.location, error)
            return
        await listener.execute(f'LISTEN "{CHANGES_CHANNEL}"')
        self._listening = True
        self._listener = asyncio.create_task(self._count(listener))

    async def _count(self, listener: psycopg.AsyncConnection[Any]) -> None:
        try:
            async for _ in listener.notifies():
                self._changes += 1
                self._changed.set()
        except psycopg.Error as error:
            log.warning("live updates from %s stopped: %s", self.location, error)
        finally:
            self._listening = False
            await listener.close()

    async def change_token(self) -> int:
        if not self._listening:
            # Without notifications every probe says "maybe changed": views reload.
            self._changes += 1
        return self._changes

    async def wait_for_change(self, timeout: float) -> bool:
        """True once a change was announced since the last call (at once if one was while
        nobody waited), False after ``timeout`` seconds without one."""
        if self._changes == self._seen:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return False
        self._seen = self._changes
        return True

    def channel_data_dir(self, channel: str) -> Path:
        store = re.sub(r"[^A-Za-z0-9.-]+", "_", self.location.removeprefix("postgresql://"))
        return paths.data_dir() / "channels" / store / channel

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                await self._listener
        await asyncio.to_thread(self._pool.close)


async def init_roles(url: str, agents: list[str]) -> list[str]:
    """Migrate the store at ``url`` and set up its roles (see :mod:`.roles`); returns what
    was done. Raises :class:`StoreError` naming the store."""
    location = describe(url)

    def run() -> list[str]:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                connection.migrate(conn, location)
                return roles.init(conn, agents)
        except psycopg.Error as error:
            raise connection.translate(error, location) from error

    return await asyncio.to_thread(run)


def _prepare(url: str, location: str) -> bool:
    """Connect once (so a bad URL, a refused login or a missing database is reported as
    such), migrate, and say whether this role may only read."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            read_only = bool(
                conn.execute(
                    "SELECT pg_is_in_recovery()"
                    " OR current_setting('default_transaction_read_only') = 'on'"
                ).fetchone()[0]  # type: ignore[index]
            )
            if not read_only:
                connection.migrate(conn, location)
            return read_only
    except StoreError:
        raise
    except psycopg.Error as error:
        raise connection.translate(error, location) from error
