"""HTTP helpers of the plugin contract: what every channel speaking HTTP shares.

* :class:`LazySession` — one aiohttp client session per plugin, opened on first use inside
  the running event loop, with a total timeout per request and the plugin's User-Agent.
* :func:`retry_after` — the seconds an HTTP ``Retry-After`` header asks to wait, for
  :class:`~agentconsole.plugin.TemporaryError`'s ``retry_after``.
* :func:`sign` / :func:`signature_matches` — HMAC-SHA256 request signatures
  (``sha256=<hex>``), for signed callbacks and webhooks.
* :class:`HttpEndpoint`, :func:`parse_listen`, :func:`read_limited`, :func:`json_error` — a
  small aiohttp server for channels that are pushed to (a webhook receiver, an HTTP API),
  hardened against hostile clients by :mod:`.http_guard` (time limits, a connection cap
  below the file limit, "overloaded" while it is hit) and :func:`parse_json`
  (:mod:`.json_body`: deep nesting and lone surrogates are a 400 naming the field).

Importing this module is cheap: aiohttp is imported only when a session or an endpoint is
actually made, so a plugin that only signs or parses headers never loads it. Nothing here
touches the store: a handler hands parsed messages to ``ChannelContext.ingest``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import PermanentError, TemporaryError
from .http_guard import ConnectionGuard, EndpointLimits, GuardedConnection
from .json_body import JsonBodyError, parse_json

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web

__all__ = [
    "SIGNATURE_PREFIX",
    "EndpointLimits",
    "HttpEndpoint",
    "JsonBodyError",
    "LazySession",
    "json_error",
    "parse_json",
    "parse_listen",
    "read_limited",
    "retry_after",
    "sign",
    "signature_matches",
]

SIGNATURE_PREFIX = "sha256="


# -- client side ------------------------------------------------------------------------------


class LazySession:
    """The plugin's aiohttp client session, made when first asked for.

    aiohttp sessions must be created inside the running event loop, and a closed one cannot
    be reused; :meth:`get` returns the open session or makes a new one with a total timeout
    of ``timeout`` seconds per request and the given ``user_agent`` (plus ``headers``) on
    every request. :meth:`close` closes it; a later :meth:`get` opens a fresh one.
    """

    def __init__(
        self, *, timeout: float, user_agent: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.timeout = timeout
        self._headers = {"User-Agent": user_agent, **(headers or {})}
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        """The open session (a new one when there is none or it was closed)."""
        if self._session is None or self._session.closed:
            import aiohttp  # on first use: importing the contract never loads aiohttp

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout), headers=self._headers
            )
        return self._session

    async def close(self) -> None:
        """Close the session if one is open; safe to call at any time, and more than once."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def retry_after(headers: Mapping[str, str], default: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, delta-seconds (``"120"``) or an HTTP
    date (``"Wed, 21 Oct 2026 07:28:00 GMT"``), never negative. Returns ``default`` when
    the header is missing or unreadable; never raises."""
    value = headers.get("Retry-After")
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


# -- signatures -------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The ``sha256=<hex>`` signature of ``body`` under ``secret`` (HMAC-SHA256)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret``, compared in constant
    time (the prefix and the hex digits in any case). A missing header never matches."""
    if not header:
        return False
    expected = sign(secret, body)
    given = header.strip()
    if given[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX:
        given = SIGNATURE_PREFIX + given[len(SIGNATURE_PREFIX) :].lower()
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii", "replace"))


# -- server side ------------------------------------------------------------------------------


def parse_listen(value: str, where: str, key: str = "listen") -> tuple[str, int]:
    """``"127.0.0.1:8088"``, ``"[::1]:8088"`` or ``":8088"`` (all interfaces) as
    ``(host, port)``. Raises :class:`PermanentError` naming ``where`` and ``key`` (e.g.
    ``"[channels.site]"``, ``"listen"``) when it is not an address and port."""
    host, separator, port_text = value.strip().rpartition(":")
    if not separator or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise PermanentError(
            f'{where} {key} = {value!r} is not an address and port such as "127.0.0.1:8088"'
        )
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


def json_error(
    status: int,
    message: str,
    *,
    field: str = "",
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """An error answer with a JSON body ``{"error": message, **extra}``, plus ``"field"``
    (where in the request the fault is, e.g. ``author.name``) when one is given."""
    from aiohttp import web

    body = {"error": message, **({"field": field} if field else {}), **extra}
    return web.json_response(body, status=status, headers=headers)


def _guard_of(request: web.Request) -> ConnectionGuard | None:
    return request.app.get(_guard_key())


async def read_limited(request: web.Request, limit: int) -> bytes | None:
    """The request body, or ``None`` when it is longer than ``limit`` bytes (read no
    further than that, whatever ``Content-Length`` claims).

    On an :class:`HttpEndpoint` the client has the endpoint's ``body_timeout`` to send it
    (else ``408`` is answered) and counts as waiting meanwhile: a client trickling its body
    is the first dropped when the endpoint is full."""
    if request.content_length is not None and request.content_length > limit:
        return None
    guard = _guard_of(request)
    connection = guard.connection(request.transport) if guard is not None else None
    timeout = guard.limits.body_timeout if guard is not None else EndpointLimits().body_timeout
    if guard is not None and connection is not None:
        guard.waiting(connection, None)  # evictable; timed below, to answer 408
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while chunk := await request.content.read(65536):
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
    except TimeoutError:
        from aiohttp import web

        raise web.HTTPRequestTimeout(
            reason=f"the body did not arrive within {timeout:g} s"
        ) from None
    finally:
        if guard is not None and connection is not None:
            guard.busy(connection)
    return b"".join(chunks)


Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


@functools.cache
def _guard_key() -> web.AppKey[ConnectionGuard]:
    from aiohttp import web

    return web.AppKey("agentconsole.connection_guard", ConnectionGuard)


async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own errors (404, 405) answered as JSON like ours; the connection counts as
    busy (kept, not timed) while its request is answered, and waits again afterwards."""
    from aiohttp import web

    guard = _guard_of(request)
    connection = guard.connection(request.transport) if guard is not None else None
    if guard is not None and connection is not None:
        guard.busy(connection)
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        answer = json_error(error.status, error.reason)
        if error.status == 408:
            answer.force_close()  # the rest of the body would be read as the next request
        return answer
    finally:
        if guard is not None and connection is not None:
            guard.waiting(connection, guard.limits.header_timeout)


class HttpEndpoint:
    """An aiohttp server on one address, started by :meth:`start` and stopped by
    :meth:`stop`; errors it raises itself (404, 405, 408) are answered as JSON.

    ``describe`` names the channel and key in error messages (``"[channels.site] listen"``).
    Every connection passes a :class:`~.http_guard.ConnectionGuard` with ``limits``; while
    its cap is hit ``on_overload`` is called with what to show as the channel's health
    (pass ``ChannelContext.report_overload``), and with ``None`` once it is over.
    """

    def __init__(
        self,
        host: str,
        port: int,
        routes: list[web.RouteDef],
        *,
        describe: str,
        logger: logging.Logger,
        limits: EndpointLimits | None = None,
        on_overload: Callable[[str | None], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._routes = routes
        self._describe = describe
        self._log = logger
        self.limits = limits or EndpointLimits()
        self._on_overload = on_overload
        self.guard: ConnectionGuard | None = None
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (differs from ``port`` when that was 0)."""
        if self._server is None or not self._server.sockets:
            return self.port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Listen (doing nothing when already listening), or raise :class:`TemporaryError`
        naming the address and the key to change when it cannot."""
        from aiohttp import web

        async with self._lock:
            if self._runner is not None:
                return
            guard = ConnectionGuard(
                self.limits,
                describe=f"endpoint ({self._describe})",
                logger=self._log,
                on_overload=self._on_overload,
            )
            app = web.Application(middlewares=[web.middleware(_json_errors)])
            app[_guard_key()] = guard
            app.add_routes(self._routes)
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
            await runner.setup()
            handlers = runner.server
            assert handlers is not None
            try:
                # Our own server rather than web.TCPSite: every connection passes the guard.
                self._server = await asyncio.get_running_loop().create_server(
                    lambda: GuardedConnection(guard, handlers),
                    self.host,
                    self.port,
                    reuse_address=True,
                    backlog=1024,
                )
            except OSError as error:
                await runner.cleanup()
                raise TemporaryError(
                    f"cannot listen on {self.host}:{self.port} ({error.strerror or error}) — "
                    f"is another program using it? Change {self._describe}"
                ) from error
            self._runner = runner
            self.guard = guard
            self._log.info(
                "listening on http://%s:%d (at most %d connections)",
                self.host,
                self.bound_port,
                guard.cap,
            )

    async def stop(self) -> None:
        """Stop listening and close every connection; safe to call when not started."""
        async with self._lock:
            runner, self._runner = self._runner, None
            server, self._server = self._server, None
            guard, self.guard = self.guard, None
            if server is not None:
                server.close()
            if runner is not None:
                await runner.cleanup()
            if guard is not None:
                guard.close()
            if server is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(server.wait_closed(), 2.0)
