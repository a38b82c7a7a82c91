"""A small asynchronous client for the Discourse REST API (``Api-Key`` / ``Api-Username``).

Every call has a timeout. A ``429`` is waited out in place when Discourse asks for a short
pause (``Retry-After`` or ``extras.wait_seconds``), otherwise raised as
:class:`TemporaryError` with ``retry_after`` so the core waits; other failures become
:class:`TemporaryError` (network, 5xx) or :class:`PermanentError` (rejected key, refused
post) with a message saying what to check.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from agentconsole.plugin import PermanentError, TemporaryError
from agentconsole.plugin.http import LazySession, retry_after

__all__ = ["DiscourseClient", "NotFound"]

#: A 429 asking for at most this many seconds is waited out inside the call.
MAX_INLINE_WAIT = 10.0
INLINE_RETRIES = 3
USER_AGENT = "agentconsole-discourse/1"

Params = Sequence[tuple[str, str | int]] | dict[str, str | int] | None


class NotFound(PermanentError):
    """The topic or post does not exist (or is not visible to the API user)."""


def _errors_of(data: Any) -> str:
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)[:300]
        if isinstance(data.get("error"), str):
            return str(data["error"])[:300]
    return ""


class DiscourseClient:
    """Calls on one forum as one API user. ``api_key`` is called (off the event loop) to
    get the key, again after the forum rejects it, so a rotated key is picked up."""

    def __init__(
        self,
        base_url: str,
        username: str,
        api_key: Callable[[], str],
        *,
        timeout: float,
        where: str,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urllib.parse.urlsplit(self.base_url).netloc
        self.username = username
        self._api_key = api_key
        self._key: str | None = None
        self.timeout = timeout
        self.where = where
        self._http = LazySession(timeout=timeout, user_agent=USER_AGENT)
        #: How an inline wait for a 429 sleeps.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def _headers(self) -> dict[str, str]:
        if self._key is None:
            self._key = await asyncio.to_thread(self._api_key)
        return {"Api-Key": self._key, "Api-Username": self.username, "Accept": "application/json"}

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def get(self, path: str, params: Params = None) -> dict[str, Any]:
        return await self._request("GET", path, params=params)

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", path, json=payload)

    async def _request(self, method: str, path: str, **arguments: Any) -> dict[str, Any]:
        for attempt in range(INLINE_RETRIES + 1):
            headers = await self._headers()
            try:
                async with self._http.get().request(
                    method, self.url(path), headers=headers, **arguments
                ) as response:
                    status = response.status
                    try:
                        data = await response.json(content_type=None)
                    except ValueError:
                        data = None
                    wait = retry_after(response.headers)
            except TimeoutError:
                raise TemporaryError(
                    f"Discourse at {self.host} did not answer {method} {path} within "
                    f"{self.timeout:.0f}s"
                ) from None
            except aiohttp.ClientError as error:
                raise TemporaryError(f"cannot reach Discourse at {self.host}: {error}") from None
            if 200 <= status < 300:
                if not isinstance(data, dict):
                    raise TemporaryError(
                        f"Discourse at {self.host} answered {method} {path} with something "
                        "other than JSON — is url the forum's address?"
                    )
                return data
            if status == 429:
                if wait is None and isinstance(data, dict):
                    extras = data.get("extras") or {}
                    if isinstance(extras, dict) and isinstance(
                        extras.get("wait_seconds"), (int, float)
                    ):
                        wait = float(extras["wait_seconds"])
                if wait is not None and wait <= MAX_INLINE_WAIT and attempt < INLINE_RETRIES:
                    await self.sleep(wait)
                    continue
                raise TemporaryError(
                    f"Discourse at {self.host} is rate limiting {self.username}"
                    + (f"; it asks to wait {wait:.0f}s" if wait is not None else ""),
                    retry_after=wait,
                )
            self._raise(status, method, path, data, wait)
        raise AssertionError("unreachable")

    def _raise(self, status: int, method: str, path: str, data: Any, wait: float | None) -> None:
        detail = _errors_of(data)
        if status in (401, 403):
            self._key = None  # read the key again next time: it may have been rotated
            raise PermanentError(
                f"Discourse at {self.host} rejected the API key for user {self.username} "
                f"({status}){': ' + detail if detail else ''} — check api_key_command and "
                f"api_username in {self.where}"
            )
        if status == 404:
            raise NotFound(
                f"Discourse at {self.host} has no {path} (404) or it is not visible "
                f"to {self.username}"
            )
        if status >= 500 or status == 408:
            raise TemporaryError(
                f"Discourse at {self.host} failed on {method} {path} ({status})", retry_after=wait
            )
        raise PermanentError(
            f"Discourse at {self.host} refused {method} {path} ({status})"
            + (f": {detail}" if detail else "")
        )

    async def close(self) -> None:
        await self._http.close()
