"""Signed HTTP for channels that are pushed to: HMAC signatures, a small aiohttp endpoint,
JSON error answers and ``Retry-After`` parsing.

Used by the API channel and by the Discourse channel's webhook receiver. Nothing here
touches the store: a handler hands parsed messages to ``ChannelContext.ingest``.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from agentconsole.plugin import PermanentError, TemporaryError

__all__ = [
    "SIGNATURE_PREFIX",
    "HttpEndpoint",
    "json_error",
    "parse_listen",
    "read_limited",
    "retry_after",
    "sign",
    "signature_matches",
]

SIGNATURE_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The ``sha256=<hex>`` signature of ``body`` under ``secret`` (HMAC-SHA256)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body``; compared in constant time."""
    if not header:
        return False
    expected = sign(secret, body)
    given = header.strip()
    if given[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX:
        given = SIGNATURE_PREFIX + given[len(SIGNATURE_PREFIX) :].lower()
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii", "replace"))


def parse_listen(value: str, where: str, key: str = "listen") -> tuple[str, int]:
    """``"127.0.0.1:8088"``, ``"[::1]:8088"`` or ``":8088"`` (all interfaces) as (host, port)."""
    host, separator, port_text = value.strip().rpartition(":")
    if not separator or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise PermanentError(
            f'{where} {key} = {value!r} is not an address and port such as "127.0.0.1:8088"'
        )
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    """An error answer with a JSON body ``{"error": message, ...}``."""
    return web.json_response({"error": message, **extra}, status=status)


async def read_limited(request: web.Request, limit: int) -> bytes | None:
    """The request body, or ``None`` when it is longer than ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(65536):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after(headers: Mapping[str, str], default: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
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


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own errors (404, 405) answered as JSON like ours."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return json_error(error.status, error.reason)


class HttpEndpoint:
    """An aiohttp server on one address, started on demand and stopped on ``stop``.

    ``describe`` names the channel and key in error messages
    (``"[channels.site] listen"``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        routes: list[web.RouteDef],
        *,
        describe: str,
        logger: logging.Logger,
    ) -> None:
        self.host = host
        self.port = port
        self._routes = routes
        self._describe = describe
        self._log = logger
        self._runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (differs from ``port`` when that was 0)."""
        if self._runner is None:
            return self.port
        for site in self._runner.sites:
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                return int(server.sockets[0].getsockname()[1])
        return self.port

    async def start(self) -> None:
        """Listen, or raise :class:`TemporaryError` naming the address when it cannot."""
        async with self._lock:
            if self._runner is not None:
                return
            app = web.Application(middlewares=[_json_errors])
            app.add_routes(self._routes)
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
            await runner.setup()
            try:
                await web.TCPSite(runner, self.host, self.port).start()
            except OSError as error:
                await runner.cleanup()
                raise TemporaryError(
                    f"cannot listen on {self.host}:{self.port} ({error.strerror or error}) — "
                    f"is another program using it? Change {self._describe}"
                ) from error
            self._runner = runner
            self._log.info("listening on http://%s:%d", self.host, self.bound_port)

    async def stop(self) -> None:
        async with self._lock:
            runner, self._runner = self._runner, None
            if runner is not None:
                await runner.cleanup()


def client_session(
    current: aiohttp.ClientSession | None, timeout: float, user_agent: str
) -> aiohttp.ClientSession:
    """``current`` while it is open, else a new session with a total timeout per request
    (created lazily: aiohttp sessions must be made inside the running loop)."""
    if current is not None and not current.closed:
        return current
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout), headers={"User-Agent": user_agent}
    )
