"""A PostgreSQL store connection: the store's portable SQL (``?`` parameters) on psycopg 3,
write transactions one at a time (ingest batches that share no key at once), pipelined, that
announce themselves with ``NOTIFY``, numbered
migrations, and what a server error means for the store (:func:`translate`)."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus

from ...errors import (
    StoreBusyError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from .. import migration_files
from .dialect import POSTGRES, PostgresDialect

#: The channel every committed write notifies; live views LISTEN to it.
CHANGES_CHANNEL = "agentconsole_changes"
#: Serializes migrations of one database between processes (an arbitrary constant).
MIGRATION_LOCK = 0x61676E74
#: Held by the one writing transaction of a database at a time; shared by transactions
#: given keys (each of which then holds its keys' locks too).
WRITER_LOCK = 0x61676E75
#: A transaction given more keys than this takes the store-wide lock instead: each key is
#: a slot of the server's lock table (``max_locks_per_transaction`` × connections, 6,400 by
#: default, shared by every session).
MAX_KEYS = 1000


def key_lock(key: str) -> int:
    """The advisory lock (a signed 64-bit number) standing for ``key``."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


@functools.lru_cache(maxsize=1024)
def to_psycopg(statement: str) -> str:
    """``statement`` with ``?`` parameters as psycopg's ``%s`` (and literal ``%`` doubled),
    leaving quoted strings and names alone."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")

    return _TOKEN.sub(replace, statement)


#: Tables whose ``INSERT … RETURNING id`` inside a write transaction takes its id from a
#: block reserved ahead (see :class:`PostgresDb`): messages, one per message an ingest batch
#: stores. Not conversations or contacts: their numbers are shown (``#12``, a customer's
#: ``[#12]``) and should follow each other, not skip the rest of a block.
RESERVED_ID_TABLES = frozenset({"messages"})
#: Ids reserved at a time: the first block small (most transactions insert a few rows), the
#: next ones twice as large, up to this many (at most this many less one left unused).
MOST_IDS_RESERVED = 64

_INSERT_RETURNING_ID = re.compile(
    r"INSERT INTO (\w+)\(([^()]*)\) VALUES \((.*)\) RETURNING id", re.DOTALL
)


@functools.lru_cache(maxsize=64)
def _with_given_id(statement: str) -> tuple[str, str] | None:
    """``(table, statement with the id as its first parameter and no RETURNING)`` for a
    plain ``INSERT INTO table(…) VALUES (…) RETURNING id`` into a table of
    :data:`RESERVED_ID_TABLES`; None for any other statement (an ``ON CONFLICT`` may
    insert nothing, so it keeps its ``RETURNING``)."""
    match = _INSERT_RETURNING_ID.fullmatch(statement)
    if match is None or match.group(1) not in RESERVED_ID_TABLES:
        return None
    table, columns, values = match.groups()
    return table, to_psycopg(f"INSERT INTO {table}(id, {columns}) VALUES (?, {values})")


def _values(parameters: Sequence[Any]) -> Sequence[Any]:
    """``parameters`` without NUL in their text: PostgreSQL text cannot hold it (the
    original bytes stay in raw_messages)."""
    # Looked for first, the parameters copied only when one holds it (hardly ever): a
    # copy of each statement's parameters cost more than psycopg's own work on them.
    for value in parameters:
        if isinstance(value, str) and "\x00" in value:
            return tuple(
                item.replace("\x00", "") if isinstance(item, str) else item for item in parameters
            )
    return parameters


class PostgresDb:
    """:class:`~..db.Db` over one psycopg connection in autocommit mode. Text cannot hold
    NUL in PostgreSQL: a NUL in a value is left out (as the display and outgoing headers drop it; a message's original bytes,
    NUL included, stay in its raw copy).

    A write transaction runs in psycopg's pipeline mode: a statement whose result nobody
    reads (an ``INSERT`` without ``RETURNING``, an ``UPDATE``) is sent without waiting for
    the server, and travels with the next statement whose rows are read — a batch of
    ingest pays a round trip per lookup, not per statement. Its errors surface at that next
    read (or at the commit) and still roll the whole transaction back."""

    dialect: PostgresDialect = POSTGRES

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._pipeline: psycopg.Pipeline | None = None
        #: Per table: the ids reserved and not used yet, and how many the next block has.
        self._ids: dict[str, tuple[list[int], int]] = {}

    def execute(self, statement: str, parameters: Sequence[Any] = (), /) -> Any:
        if self._pipeline is None:
            return self.conn.execute(to_psycopg(statement), _values(parameters))
        given = _with_given_id(statement) if statement.endswith("RETURNING id") else None
        if given is not None:
            table, insert = given
            new_id = self._reserved_id(table)
            self.conn.execute(insert, (new_id, *_values(parameters)))
            return _Inserted(new_id)
        cursor = self.conn.execute(to_psycopg(statement), _values(parameters))
        return _PipelinedCursor(cursor, self._pipeline)

    def _reserved_id(self, table: str) -> int:
        free, block = self._ids.get(table, ([], 8))
        if not free:
            # The sequence looked up once (materialized), not in the catalog for each id.
            rows = self.conn.execute(
                "WITH s AS MATERIALIZED"
                " (SELECT CAST(pg_get_serial_sequence(%s, 'id') AS regclass) AS sequence)"
                " SELECT nextval(sequence) FROM s, generate_series(1, %s)",
                (table, block),
            ).fetchall()
            free = sorted((int(row[0]) for row in rows), reverse=True)
            block = min(block * 2, MOST_IDS_RESERVED)
        new_id = free.pop()
        self._ids[table] = (free, block)
        return new_id

    def executemany(self, statement: str, parameters: Iterable[Sequence[Any]], /) -> Any:
        cursor = self.conn.cursor()
        cursor.executemany(to_psycopg(statement), [_values(p) for p in parameters])
        return cursor if self._pipeline is None else _PipelinedCursor(cursor, self._pipeline)

    @contextmanager
    def transaction(
        self, *, row_locks: bool = False, keys: Collection[str] | None = None
    ) -> Iterator[PostgresDb]:
        # One writer at a time, as SQLite's BEGIN IMMEDIATE: the lock is taken before the
        # first read (read committed: every statement after it sees every earlier commit),
        # so a check followed by a write — the reply collision guard, a lease, a dedupe
        # lookup — cannot race another writer, and no transaction is ever re-run for it.
        # Measured: serializable transactions of a 500-message batch conflicted with each
        # other until four writers gave up. A row-locked block (an outbox claim) locks
        # what it changes itself and runs beside them; a block given keys (an ingest
        # batch) shares the writer lock with others like it and holds a lock per key,
        # taken in one order (sorted) so two such blocks never deadlock on them.
        conn = self.conn
        try:
            with conn.pipeline() as pipeline:
                conn.execute("BEGIN")
                if keys is not None and len(keys) <= MAX_KEYS:
                    conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (WRITER_LOCK,))
                    conn.execute(
                        "SELECT count(pg_advisory_xact_lock(k)) FROM"
                        " (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) AS keys",
                        (sorted({key_lock(key) for key in keys}),),
                    )
                elif not row_locks:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
                self._pipeline = pipeline
                yield self
                # Announced only when something was written: a check that changed nothing
                # (the console's look for snoozed conversations to wake, on every reload)
                # must not make every console — its own included — reload again.
                conn.execute(
                    "SELECT pg_notify(%s, '') WHERE pg_current_xact_id_if_assigned() IS NOT NULL",
                    (CHANGES_CHANNEL,),
                )
                conn.execute("COMMIT")
                self._pipeline = None
                self._ids.clear()
        except BaseException:
            self._pipeline = None
            self._ids.clear()
            # A statement that failed in the pipeline left the transaction aborted; one
            # that failed at COMMIT already ended it.
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            raise


class _Inserted:
    """The cursor of an ``INSERT … RETURNING id`` whose id was given (see
    :class:`PostgresDb`): its one row, without waiting for the server."""

    __slots__ = ("_rows",)

    rowcount = 1
    description = (("id",),)

    def __init__(self, new_id: int) -> None:
        self._rows = [(new_id,)]

    def fetchone(self) -> Any:
        return self._rows.pop() if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class _PipelinedCursor:
    """A cursor of a pipelined statement: rows are fetched when read (psycopg waits for
    them), and ``rowcount``/``description`` wait for the statement's result first."""

    __slots__ = ("_cursor", "_pipeline")

    def __init__(self, cursor: psycopg.Cursor[Any], pipeline: psycopg.Pipeline) -> None:
        self._cursor = cursor
        self._pipeline = pipeline

    def _result(self) -> psycopg.Cursor[Any]:
        if self._cursor.pgresult is None:
            self._pipeline.sync()
        return self._cursor

    @property
    def rowcount(self) -> int:
        return self._result().rowcount

    @property
    def description(self) -> Any:
        return self._result().description

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


#: The unique index of the search keys: two writers at once may both find a key free.
SEARCH_KEY_CONSTRAINT = "messages_search_key_key"


def retryable(error: BaseException) -> bool:
    """A conflict with another transaction: running the whole call again may succeed.
    That includes a search key another writer took at the same moment (writers given keys
    run at once, and each picks its messages' search keys among those committed): run
    again, the call sees it taken and picks the next."""
    if isinstance(error, errors.UniqueViolation):
        return error.diag.constraint_name == SEARCH_KEY_CONSTRAINT
    return isinstance(error, errors.SerializationFailure | errors.DeadlockDetected)


def _migrations() -> list[tuple[int, str, str]]:
    return migration_files.bundled("agentconsole.store.postgres")


def latest_version() -> int:
    migrations = _migrations()
    return migrations[-1][0] if migrations else 0


def migrate(conn: psycopg.Connection[Any], location: str) -> None:
    """Apply every migration newer than the database's schema version, in one transaction
    under an advisory lock (two processes opening a new store at once migrate it once). A
    current store is left untouched (an agent's role may not change the schema). Raises
    :class:`StoreError` for a store written by a newer version or a failed migration, and
    :class:`StoreReadOnlyError` when it needs a migration this role may not apply."""
    latest = latest_version()
    current = _version(conn)
    if current is not None and current == latest:
        return
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS agentconsole_schema (version integer NOT NULL)"
            )
            row = conn.execute("SELECT version FROM agentconsole_schema").fetchone()
            current = row[0] if row else 0
            if current > latest:
                raise StoreError(
                    f"{location} was written by a newer agentconsole (schema {current}, this "
                    f"one knows {latest}); upgrade agentconsole to open it"
                )
            for number, name, script in _migrations():
                if number <= current:
                    continue
                try:
                    conn.execute(script)
                except errors.InsufficientPrivilege:
                    raise
                except psycopg.Error as error:
                    raise StoreError(f"migration {name} failed on {location}: {error}") from error
            if row is None:
                conn.execute("INSERT INTO agentconsole_schema(version) VALUES (%s)", (latest,))
            elif current != latest:
                conn.execute("UPDATE agentconsole_schema SET version = %s", (latest,))
    except errors.InsufficientPrivilege as error:
        raise StoreReadOnlyError(
            f"the store at {location} needs an upgrade (schema {current or 0} to {latest}) "
            "that only its owner may apply: run `agentconsole store init` as the store's "
            "owner"
        ) from error


def _version(conn: psycopg.Connection[Any]) -> int | None:
    """The schema version, None for a database without agentconsole's schema."""
    found = conn.execute("SELECT to_regclass('agentconsole_schema')").fetchone()
    if found is None or found[0] is None:
        return None
    row = conn.execute("SELECT version FROM agentconsole_schema").fetchone()
    return int(row[0]) if row else None


def translate(error: psycopg.Error, location: str) -> Exception:
    """The :class:`StoreError` a server or connection error means, naming the store.
    Errors that are bugs (a constraint, bad SQL) are returned unchanged."""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, errors.DiskFull | errors.OutOfMemory):
        return StoreFullError(f"the store at {location} cannot grow: {detail}")
    if isinstance(error, errors.ReadOnlySqlTransaction | errors.InsufficientPrivilege):
        return StoreReadOnlyError(f"the store at {location} is read-only for this role: {detail}")
    if isinstance(
        error,
        errors.LockNotAvailable
        | errors.QueryCanceled
        | errors.SerializationFailure
        | errors.DeadlockDetected
        | errors.TooManyConnections
        | errors.CannotConnectNow,
    ):
        return StoreBusyError(f"the store at {location} is busy: {detail}; try again")
    if isinstance(error, errors.UndefinedTable):
        return StoreError(f"{location} is not an agentconsole store: {detail}")
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return StoreUnavailableError(f"cannot reach the store at {location}: {detail}")
    return error
