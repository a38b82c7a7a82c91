"""A small Matrix client-server API client on aiohttp: JSON requests with timeouts, the
errors mapped to the plugin contract, login, and size-capped media download.

Errors: network failures, 5xx and 429 are :class:`TemporaryError` (429 carries
``retry_after_ms`` as ``retry_after``); other 4xx are :class:`MatrixError`, a
:class:`PermanentError` that keeps the Matrix ``errcode`` for callers that react to it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp

from agentconsole.plugin import PermanentError, TemporaryError
from agentconsole.plugin.http import LazySession, retry_after

REQUEST_TIMEOUT = 30.0


class MatrixError(PermanentError):
    """A 4xx answer other than 429: ``errcode`` is Matrix's (``M_FORBIDDEN`` …)."""

    def __init__(self, message: str, *, status: int, errcode: str) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode


class TooLarge(Exception):
    """A download went over the size cap."""


def path_of(*parts: str) -> str:
    """A URL path with each part percent-encoded (room ids contain ``!`` and ``:``)."""
    return "/".join(quote(part, safe="") for part in parts)


class MatrixClient:
    """One homeserver session; ``access_token`` may be set after :meth:`login`."""

    def __init__(self, homeserver: str, access_token: str | None = None) -> None:
        self.homeserver = homeserver.rstrip("/")
        self.access_token = access_token
        self._http = LazySession(timeout=REQUEST_TIMEOUT, user_agent="agentconsole-matrix")

    @property
    def session(self) -> aiohttp.ClientSession:
        return self._http.get()

    async def close(self) -> None:
        await self._http.close()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT,
        what: str = "",
    ) -> dict[str, Any]:
        """``path`` starts after the homeserver (``/_matrix/client/v3/...``)."""
        url = self.homeserver + path
        what = what or f"{method} {path.split('?')[0]}"
        try:
            async with self.session.request(
                method,
                url,
                json=body,
                params=params,
                headers=self._headers(),
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                text = await response.text()
                return _answer(response.status, response.headers, text, what, self.homeserver)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            reason = (
                "timed out"
                if isinstance(error, TimeoutError)
                else str(error) or type(error).__name__
            )
            raise TemporaryError(f"Matrix: {what} on {self.homeserver} failed: {reason}") from None

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        """Upload a file; returns its ``mxc://`` URI."""
        try:
            async with self.session.post(
                self.homeserver + "/_matrix/media/v3/upload",
                data=data,
                params={"filename": filename},
                headers={**self._headers(), "Content-Type": content_type},
                timeout=aiohttp.ClientTimeout(total=120),
            ) as response:
                text = await response.text()
                answer = _answer(response.status, response.headers, text, "upload", self.homeserver)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise TemporaryError(f"Matrix: upload to {self.homeserver} failed: {error}") from None
        return str(answer["content_uri"])

    async def download(self, mxc: str, limit: int) -> bytes:
        """The bytes of an ``mxc://server/id`` URI, at most ``limit`` of them (else
        :class:`TooLarge`). Tries the authenticated media API, then the legacy one."""
        if not mxc.startswith("mxc://") or mxc.count("/") != 3:
            raise PermanentError(f"not a Matrix media URI: {mxc!r}")
        server, media_id = mxc[len("mxc://") :].split("/")
        paths = (
            "/_matrix/client/v1/media/download/" + path_of(server, media_id),
            "/_matrix/media/v3/download/" + path_of(server, media_id),
        )
        last: Exception | None = None
        for path in paths:
            try:
                return await self._download(path, limit)
            except MatrixError as error:
                if error.status not in (400, 404):
                    raise
                last = error
        assert last is not None
        raise last

    async def _download(self, path: str, limit: int) -> bytes:
        try:
            async with self.session.get(
                self.homeserver + path,
                headers=self._headers(),
                params={"allow_redirect": "true"},
                timeout=aiohttp.ClientTimeout(total=120),
            ) as response:
                if response.status != 200:
                    _answer(
                        response.status,
                        response.headers,
                        await response.text(),
                        "download",
                        self.homeserver,
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"over {limit} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise TemporaryError(
                f"Matrix: download from {self.homeserver} failed: {error}"
            ) from None


def _answer(status: int, headers: Any, text: str, what: str, homeserver: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if 200 <= status < 300:
        return data
    errcode = str(data.get("errcode", ""))
    reason = str(data.get("error", "")) or text[:200]
    detail = f"{errcode} {reason}".strip() or f"HTTP {status}"
    message = f"Matrix: {what} on {homeserver} failed: {detail}"
    if status == 429:
        retry_ms = data.get("retry_after_ms")
        wait = retry_ms / 1000 if isinstance(retry_ms, (int, float)) else retry_after(headers)
        raise TemporaryError(message, retry_after=wait)
    if status >= 500 or status == 408:
        raise TemporaryError(message)
    raise MatrixError(message, status=status, errcode=errcode)
