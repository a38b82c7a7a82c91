"""Connection limits of the plugin HTTP endpoints: one hostile client cannot starve the rest.

Every connection an :class:`~agentconsole.plugin.http.HttpEndpoint` accepts passes through a
:class:`ConnectionGuard`:

* **Time limits.** A client has ``header_timeout`` seconds to send a request's head (from
  connecting, or from the previous answer on a kept-alive connection) and
  ``body_timeout`` seconds to send its body; a client that dawdles (slowloris) is closed.
* **A cap below the file limit.** At most ``cap`` connections are open at once, well under
  the process's file limit (``RLIMIT_NOFILE``), so the server never runs out of file
  descriptors — the store, the other channels and the accept loop keep theirs. When the cap
  is reached, a new connection takes the place of the connection that has waited longest
  for its client (still sending a head or a body, or idle between requests): slow clients
  are the ones dropped, a quick signed POST is served. When every open connection is being
  answered, the new one gets ``503`` with ``Retry-After`` and is closed.
* **Told once.** Dropped, refused and timed-out connections are logged once per interval
  with a count, never one line each; while the cap is being hit the channel is reported
  overloaded (``on_overload(detail)``), and ``on_overload(None)`` once it has been calm for
  a while.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ConnectionGuard", "EndpointLimits", "connection_cap"]

#: The automatic cap: a quarter of the file limit, within these bounds.
AUTOMATIC_CAP_RANGE = (16, 4096)
#: File descriptors an explicit cap always leaves to the rest of the process.
RESERVED_FILES = 64
#: Seconds without a dropped or refused connection before "overloaded" is lifted.
CALM_SECONDS = 5.0
#: Seconds between two log lines counting the same kind of event.
REPORT_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class EndpointLimits:
    """How long a client may take and how many may be connected at once.

    ``max_connections`` ``None`` picks :func:`connection_cap`'s automatic cap.
    ``retry_after`` is the ``Retry-After`` (seconds) of the 503 answered when full.
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int | None = None
    retry_after: int = 5


def connection_cap(requested: int | None = None) -> int:
    """The most connections an endpoint may hold: ``requested``, but never within
    :data:`RESERVED_FILES` of the process's file limit; by default a quarter of that limit
    (between 16 and 4,096), leaving room for the store, other channels and a second
    endpoint."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    if requested is None:
        low, high = AUTOMATIC_CAP_RANGE
        return max(low, min(high, soft // 4))
    return max(1, min(requested, soft - RESERVED_FILES))


def _refusal(retry_after: int) -> bytes:
    body = json.dumps(
        {"error": "too many connections; retry later", "retry_after": retry_after}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Retry-After: {retry_after}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedConnection(asyncio.Protocol):
    """One accepted connection: admitted by the guard, then served by aiohttp's protocol
    (made only once admitted, so a refused connection costs nothing but its socket)."""

    def __init__(self, guard: ConnectionGuard, make_handler: Callable[[], asyncio.Protocol]):
        self._guard = guard
        self._make_handler = make_handler
        self.handler: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self._guard.admit(self):
            transport.write(_refusal(self._guard.limits.retry_after))
            transport.close()
            return
        self.handler = self._make_handler()
        self.handler.connection_made(transport)
        self._guard.waiting(self, self._guard.limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self.handler is not None:
            self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received() if self.handler is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.release(self)
        if self.handler is not None:
            self.handler.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.handler is not None:
            self.handler.pause_writing()

    def resume_writing(self) -> None:
        if self.handler is not None:
            self.handler.resume_writing()


class _Tally:
    """Counts events of a few kinds and logs each kind at most once per interval: the first
    at once, the rest as one line with their count when the interval ends."""

    def __init__(self, logger: logging.Logger, describe: str) -> None:
        self._log = logger
        self._describe = describe
        self._counts: dict[str, int] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, what: str) -> None:
        if self._timer is None:
            self._log.warning("%s: %s", self._describe, what)
            self._timer = asyncio.get_running_loop().call_later(REPORT_INTERVAL, self.flush)
            return
        self._counts[what] = self._counts.get(what, 0) + 1

    def flush(self) -> None:
        """Log what was counted and start afresh (the next event is logged at once)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        counts, self._counts = self._counts, {}
        for what, count in counts.items():
            self._log.warning(
                "%s: %d more times within %.0f s: %s",
                self._describe,
                count,
                REPORT_INTERVAL,
                what,
            )


class ConnectionGuard:
    """Admits, times and evicts the connections of one endpoint (see the module docstring).

    ``waiting`` marks a connection as waiting for its client (evictable, closed when
    ``timeout`` passes); ``busy`` marks it as being answered (kept, no time limit from
    here: the handler bounds its own work).
    """

    def __init__(
        self,
        limits: EndpointLimits,
        *,
        describe: str,
        logger: logging.Logger,
        on_overload: Callable[[str | None], None] | None = None,
    ) -> None:
        self.limits = limits
        self.cap = connection_cap(limits.max_connections)
        self._describe = describe
        self._on_overload = on_overload
        self._open: dict[GuardedConnection, None] = {}
        #: Connections waiting for their client, longest-waiting first.
        self._waiting: dict[GuardedConnection, None] = {}
        self._by_transport: dict[asyncio.BaseTransport, GuardedConnection] = {}
        self._tally = _Tally(logger, describe)
        self._last_pressure = 0.0
        self._calm_check: asyncio.TimerHandle | None = None
        self.overloaded = False
        #: Totals since start, for tests and benchmarks.
        self.dropped = self.refused = self.timed_out = 0

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def busy_connections(self) -> int:
        """Open connections whose request is being answered."""
        return len(self._open) - len(self._waiting)

    def connection(self, transport: asyncio.BaseTransport | None) -> GuardedConnection | None:
        return self._by_transport.get(transport) if transport is not None else None

    # -- the life of a connection -----------------------------------------------------------

    def admit(self, connection: GuardedConnection) -> bool:
        """Whether ``connection`` may be served, making room by dropping the connection that
        has waited longest for its client when the cap is reached."""
        if len(self._open) >= self.cap:
            victim = next(iter(self._waiting), None)
            if victim is None:
                self.refused += 1
                self._pressure("every connection is busy: answered 503 to a new one")
                return False
            self.dropped += 1
            self._pressure(
                f"{len(self._open)} connections open (the limit): dropped the slowest client"
            )
            self.release(victim)
            if victim.transport is not None:
                victim.transport.abort()
        self._open[connection] = None
        assert connection.transport is not None
        self._by_transport[connection.transport] = connection
        return True

    def waiting(self, connection: GuardedConnection, timeout: float | None) -> None:
        """The connection waits for its client, who has ``timeout`` seconds to send (``None``:
        the caller times it itself)."""
        if connection not in self._open:
            return
        self._cancel_deadline(connection)
        self._waiting.pop(connection, None)
        self._waiting[connection] = None
        if timeout is not None:
            connection.deadline = asyncio.get_running_loop().call_later(
                timeout, self._expire, connection
            )

    def busy(self, connection: GuardedConnection) -> None:
        """The connection's request is being answered: neither timed nor evicted."""
        self._cancel_deadline(connection)
        self._waiting.pop(connection, None)

    def release(self, connection: GuardedConnection) -> None:
        """The connection is closed (or being closed); safe to call more than once."""
        self._cancel_deadline(connection)
        self._waiting.pop(connection, None)
        if connection in self._open:
            del self._open[connection]
            if connection.transport is not None:
                self._by_transport.pop(connection.transport, None)

    def close(self) -> None:
        """Close the connections still open, stop the guard's timers and log what is still
        counted."""
        for connection in list(self._open):
            self.release(connection)
            if connection.transport is not None:
                connection.transport.abort()
        if self._calm_check is not None:
            self._calm_check.cancel()
            self._calm_check = None
        self._tally.flush()
        if self.overloaded:
            self._set_overloaded(None)

    def _expire(self, connection: GuardedConnection) -> None:
        connection.deadline = None
        self.timed_out += 1
        self._tally.add("closed a connection whose client sent nothing in time")
        self.release(connection)
        if connection.transport is not None:
            connection.transport.close()

    def _cancel_deadline(self, connection: GuardedConnection) -> None:
        if connection.deadline is not None:
            connection.deadline.cancel()
            connection.deadline = None

    # -- overload -----------------------------------------------------------------------------

    def _pressure(self, what: str) -> None:
        self._last_pressure = time.monotonic()
        self._tally.add(what)
        if not self.overloaded:
            self._set_overloaded(
                f"overloaded: {self.cap} connections open (the limit); slow clients are "
                "dropped, new ones answered 503 when all are busy"
            )
            self._calm_check = asyncio.get_running_loop().call_later(CALM_SECONDS, self._check_calm)

    def _check_calm(self) -> None:
        quiet = time.monotonic() - self._last_pressure
        if quiet >= CALM_SECONDS:
            self._calm_check = None
            self._set_overloaded(None)
            return
        self._calm_check = asyncio.get_running_loop().call_later(
            CALM_SECONDS - quiet, self._check_calm
        )

    def _set_overloaded(self, detail: str | None) -> None:
        self.overloaded = detail is not None
        if detail is None:
            self._tally.flush()
        if self._on_overload is not None:
            self._on_overload(detail)
