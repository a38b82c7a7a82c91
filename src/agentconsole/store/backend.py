"""What a backend gives the store (:class:`Backend`): somewhere to run one of the store's
functions on a connection, a cheap "anything changed?" token, and where plugin files go.
The business functions themselves (``queries``, ``actions``, ``ingest_sql`` …) are shared
by every backend; :func:`open_backend` picks the backend from the store's location."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .db import Db

T = TypeVar("T")

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Backend(Protocol):
    #: ``"sqlite"`` or ``"postgresql"``.
    name: str
    #: Where the store is, for messages (a path, or a URL without its password).
    location: str
    #: Opened read-only: writes raise :class:`~agentconsole.errors.StoreReadOnlyError`.
    read_only: bool
    #: :meth:`wait_for_change` wakes on other connections' commits.
    announces_changes: bool

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(db, *args, **kwargs)`` on one of the backend's connections, off the
        event loop; a driver error leaves as the :class:`~agentconsole.errors.StoreError`
        it means (busy, full, read-only …), other exceptions unchanged."""
        ...

    async def change_token(self) -> Hashable:
        """Differs from its last value once another connection committed a change."""
        ...

    async def wait_for_change(self, timeout: float) -> bool:
        """True once another connection's commit is announced, False after ``timeout``."""
        ...

    def channel_data_dir(self, channel: str) -> Path: ...

    async def close(self) -> None: ...


def is_postgres(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL store (a ``postgresql://`` URL)."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


async def open_backend(location: str | Path) -> Backend:
    """The backend for ``location``: a ``postgresql://`` URL or a SQLite file path.
    Raises :class:`~agentconsole.errors.StoreError` naming the store when it cannot be
    opened, migrated, or was written by a newer version."""
    if is_postgres(location):
        from .postgres import PostgresBackend

        return await PostgresBackend.open(str(location))
    from .sqlite import SqliteBackend

    return await SqliteBackend.open(Path(location))


__all__ = ["Backend", "Db", "is_postgres", "open_backend"]
