"""The RSS/Atom channel (read-only): any forum or Q&A feed — a Stack Overflow tag, GitHub
Discussions, phpBB, Discourse's ``latest.rss`` — as conversations in the queue.

Each entry is one conversation (its thread key is the entry's id) with a link to open it on
the site; the channel cannot reply. The feed is fetched with a conditional GET (``ETag`` /
``Last-Modified`` kept in the cursor, with the ids of the entries already delivered), or read
from a local file (``url = "/path/feed.xml"`` or ``file:///path/feed.xml``) when its
modification time or size changed. Bodies are HTML converted to text; nothing the feed
names is ever fetched.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import io
import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from agentconsole.plugin import (
    Author,
    Capabilities,
    ChannelContext,
    ChannelPlugin,
    FetchResult,
    Identity,
    InboundMessage,
    Option,
    PermanentError,
    TemporaryError,
    html_to_text,
)
from agentconsole.plugin.http import LazySession, retry_after

__all__ = ["FeedChannel", "entries_to_messages"]

#: A feed document larger than this is refused (a misconfigured URL pointing at a download).
MAX_FEED_BYTES = 10 * 1024 * 1024
#: Ids of delivered entries kept in the cursor (a feed holds far fewer).
MAX_SEEN = 2000
USER_AGENT = "agentconsole-feed/1 (+https://github.com/agentconsole)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass(slots=True)
class _Cursor:
    etag: str | None = None
    modified: str | None = None
    file_stamp: str | None = None
    seen: list[str] = field(default_factory=list)

    def encode(self) -> str:
        return json.dumps(
            {
                "etag": self.etag,
                "modified": self.modified,
                "file_stamp": self.file_stamp,
                "seen": self.seen[-MAX_SEEN:],
            }
        )

    @classmethod
    def decode(cls, text: str | None) -> _Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                data.get("etag"),
                data.get("modified"),
                data.get("file_stamp"),
                [str(s) for s in data.get("seen", [])],
            )
        except (ValueError, AttributeError, TypeError):
            return cls()


def _text_of(detail: dict[str, Any] | None, fallback: str = "") -> str:
    if not detail:
        return fallback
    value = str(detail.get("value") or "")
    kind = str(detail.get("type") or "text/html")
    return html_to_text(value) if "html" in kind else value.strip()


def _when(entry: dict[str, Any], default: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return default


def _web_link(value: Any) -> str | None:
    text = str(value or "").strip()
    return text if text.startswith(("http://", "https://")) else None


def _entry_id(entry: dict[str, Any]) -> str:
    for key in ("id", "link"):
        value = str(entry.get(key) or "").strip()
        if value:
            return value
    digest = hashlib.sha256(
        f"{entry.get('title', '')}\n{entry.get('published', '')}\n{entry.get('summary', '')}".encode(
            "utf-8",
            "surrogatepass",  # a JSON feed's text may hold lone surrogates
        )
    ).hexdigest()[:32]
    return f"sha256:{digest}"


def _author(entry: dict[str, Any], feed: dict[str, Any], namespace: str) -> Author:
    detail = entry.get("author_detail") or {}
    name = str(detail.get("name") or entry.get("author") or "").strip()
    href = _web_link(detail.get("href"))
    email = str(detail.get("email") or "").strip()
    identities: list[Identity] = []
    if href or name:
        identities.append(Identity(namespace, href or name))
    if "@" in email:
        identities.append(Identity("email", email))
    if not identities:
        # Nobody is named: the feed itself speaks.
        name = str(feed.get("title") or "").strip() or namespace
        identities.append(Identity(namespace, _web_link(feed.get("link")) or namespace))
    return Author(name or identities[0].address, tuple(identities))


def entries_to_messages(
    parsed: dict[str, Any], namespace: str, skip: set[str], now: datetime
) -> tuple[list[InboundMessage], list[str]]:
    """The messages of a parsed feed whose ids are not in ``skip``, and every id it holds."""
    feed = parsed.get("feed") or {}
    messages: list[InboundMessage] = []
    ids: list[str] = []
    for entry in parsed.get("entries") or []:
        external_id = _entry_id(entry)
        if external_id in ids:
            continue  # a feed that lists an entry twice
        ids.append(external_id)
        if external_id in skip:
            continue
        contents = entry.get("content") or []
        body = _text_of(
            contents[0] if contents else entry.get("summary_detail"),
            str(entry.get("summary") or ""),
        )
        title = _text_of(entry.get("title_detail"), str(entry.get("title") or "")).strip()
        link = _web_link(entry.get("link"))
        if link is None and entry.get("link") and _web_link(feed.get("link")):
            link = _web_link(urllib.parse.urljoin(str(feed.get("link")), str(entry.get("link"))))
        messages.append(
            InboundMessage(
                external_id=external_id,
                author=_author(entry, feed, namespace),
                body=body or title or (link or ""),
                sent_at=_when(entry, now),
                subject=" ".join(title.split()),
                thread_key=external_id,
                url=link,
            )
        )
    return messages, ids


#: A numeric character reference (``&#55296;``, ``&#xD800;``).
_CHARACTER_REFERENCE = re.compile(rb"&#([xX][0-9a-fA-F]+|[0-9]+);")


def _no_impossible_characters(data: bytes) -> bytes:
    """``data`` with each character reference that names no character (a lone surrogate,
    U+D800–U+DFFF, or a number past U+10FFFF) spelled ``&#xFFFD;`` (�): feedparser raises
    on them, and one such entry would stop the whole feed for good."""

    def fix(found: re.Match[bytes]) -> bytes:
        digits = found.group(1)
        if len(digits) > 12:
            return b"&#xFFFD;"
        value = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
        if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
            return b"&#xFFFD;"
        return found.group()

    return _CHARACTER_REFERENCE.sub(fix, data) if b"&#" in data else data


def _parse(data: bytes, location: str, content_type: str | None) -> dict[str, Any]:
    import feedparser  # imported here: parsing happens off the event loop

    data = _no_impossible_characters(data)
    headers = {"content-location": location} if location else {}
    if content_type:
        headers["content-type"] = content_type
    # A stream, never bytes or a string: feedparser would take those for a path or a URL.
    return dict(feedparser.parse(io.BytesIO(data), response_headers=headers))


class FeedChannel(ChannelPlugin):
    """Entries of an RSS or Atom feed as read-only conversations."""

    type_name = "feed"
    kind = "forum"
    capabilities = Capabilities(reply=False, read_only=True)
    options = (
        Option("url", str, "the feed: an http(s) URL, a file path or a file:// URL", required=True),
        Option("poll_interval", float, "seconds between fetches", default=300.0),
        Option("timeout", float, "seconds allowed for each fetch", default=30.0),
    )
    poll_interval = 300.0

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        where = f"[channels.{context.name}]"
        self.where = where
        url = str(context.options.get("url") or "").strip()
        interval = float(context.options.get("poll_interval") or 300.0)
        if interval <= 0:
            raise PermanentError(f"{where} poll_interval must be more than 0")
        self.poll_interval = interval  # type: ignore[misc]  # per instance, from the option
        self.timeout = float(context.options.get("timeout") or 30.0)
        parts = urllib.parse.urlsplit(url)
        self.path: Path | None = None
        if parts.scheme in ("http", "https"):
            if not parts.hostname:
                raise PermanentError(f"{where} url = {url!r} has no host name")
            self.namespace = f"feed:{parts.hostname.lower()}"
        elif parts.scheme == "file":
            self.path = Path(urllib.request.url2pathname(parts.path))
            self.namespace = f"feed:{context.name}"
        elif parts.scheme == "" and url:
            self.path = Path(url).expanduser()
            self.namespace = f"feed:{context.name}"
        else:
            raise PermanentError(
                f"{where} url = {url!r}: give an http(s) URL, a file path or a file:// URL"
            )
        self.url = url
        self._http = LazySession(
            timeout=self.timeout, user_agent=USER_AGENT, headers={"Accept": ACCEPT}
        )

    async def fetch(self, cursor: str | None) -> FetchResult:
        """New entries since the last fetch; the feed is not downloaded again when the
        server answers 304 (or the file is unchanged)."""
        state = _Cursor.decode(cursor)
        if self.path is not None:
            document = await self._read_file(state)
        else:
            document = await self._download(state)
        if document is None:
            return FetchResult((), cursor)
        data, location, content_type, state = document
        parsed = await asyncio.to_thread(_parse, data, location, content_type)
        if not parsed.get("version") and not parsed.get("entries"):
            reason = parsed.get("bozo_exception")
            raise PermanentError(
                f"{self.url} is not an RSS or Atom feed"
                + (f" ({reason})" if reason else "")
                + f" — check url in {self.where}"
            )
        if parsed.get("bozo"):
            self.log.info(
                "%s: the feed is not well-formed (%s); read what could be read",
                self.name,
                parsed.get("bozo_exception"),
            )
        messages, ids = entries_to_messages(
            parsed, self.namespace, set(state.seen), datetime.now(UTC)
        )
        state.seen = list(dict.fromkeys([*state.seen, *ids]))[-MAX_SEEN:]
        return FetchResult(tuple(messages), state.encode())

    async def _read_file(self, state: _Cursor) -> tuple[bytes, str, str | None, _Cursor] | None:
        assert self.path is not None
        path = self.path

        def read() -> tuple[str, bytes | None]:
            info = path.stat()
            stamp = f"{info.st_mtime_ns}:{info.st_size}"
            if stamp == state.file_stamp:
                return stamp, None
            if info.st_size > MAX_FEED_BYTES:
                raise PermanentError(f"{path} is larger than {MAX_FEED_BYTES // 1048576} MiB")
            return stamp, path.read_bytes()

        try:
            stamp, data = await asyncio.to_thread(read)
        except FileNotFoundError:
            raise PermanentError(
                f"feed file {path} does not exist — check url in {self.where}"
            ) from None
        except OSError as error:
            raise TemporaryError(
                f"cannot read feed file {path}: {error.strerror or error}"
            ) from None
        if data is None:
            return None
        # No location: relative links then resolve against the feed's own site link.
        return data, "", None, _Cursor(None, None, stamp, state.seen)

    async def _download(self, state: _Cursor) -> tuple[bytes, str, str | None, _Cursor] | None:
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        host = urllib.parse.urlsplit(self.url).hostname
        try:
            async with self._http.get().get(self.url, headers=headers) as response:
                if response.status == 304:
                    return None
                if response.status != 200:
                    self._http_error(response.status, response.headers, host)
                if (response.content_length or 0) > MAX_FEED_BYTES:
                    raise PermanentError(
                        f"the feed at {self.url} is larger than {MAX_FEED_BYTES // 1048576} MiB"
                    )
                chunks: list[bytes] = []
                size = 0
                while chunk := await response.content.read(65536):
                    size += len(chunk)
                    if size > MAX_FEED_BYTES:
                        raise PermanentError(
                            f"the feed at {self.url} is larger than {MAX_FEED_BYTES // 1048576} MiB"
                        )
                    chunks.append(chunk)
                data = b"".join(chunks)
                new_state = _Cursor(
                    response.headers.get("ETag"),
                    response.headers.get("Last-Modified"),
                    None,
                    state.seen,
                )
                return data, str(response.url), response.headers.get("Content-Type"), new_state
        except TimeoutError:
            raise TemporaryError(
                f"{host} did not send the feed within {self.timeout:.0f}s"
            ) from None
        except aiohttp.ClientError as error:
            raise TemporaryError(f"cannot fetch the feed from {host}: {error}") from None

    def _http_error(self, status: int, headers: Any, host: str | None) -> None:
        detail = f"{host} answered {status} for {self.url}"
        if status == 429 or status >= 500:
            raise TemporaryError(detail, retry_after=retry_after(headers))
        if status in (401, 403):
            raise PermanentError(f"{detail} — the feed is not public; check url in {self.where}")
        if status in (404, 410):
            raise PermanentError(f"{detail} — the feed is gone; check url in {self.where}")
        raise PermanentError(f"{detail} — check url in {self.where}")

    async def close(self) -> None:
        await self._http.close()
