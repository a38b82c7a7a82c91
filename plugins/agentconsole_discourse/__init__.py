"""The Discourse channel: topics and posts of chosen categories as forum conversations.

Polls ``/latest.json`` (or ``/c/{slug}/{id}.json`` per category), newest activity first,
page by page until it reaches what it has seen; reads each changed topic's new posts from
``/t/{id}.json`` and ``/t/{id}/posts.json?post_ids[]=…``. One conversation per topic
(thread key = topic id), one message per post (external id = post id). The cursor is JSON:
the ``bumped_at`` watermark, each topic's last post number, and the topics still to read
when a backlog is read in batches.

Replies are posted with ``POST /posts.json`` as replies to the post answered, with a hidden
marker ``<!-- agentconsole:KEY -->`` at the end of the raw text: Discourse's duplicate guard
does not apply to staff API keys, so before a retry ``find_sent`` looks for the marker
among the topic's recent posts by the API user.

Webhooks are an alternative to waiting for the next poll: with ``webhook_listen`` and
``webhook_secret`` set, ``post_created`` events signed with
``X-Discourse-Event-Signature: sha256=…`` are stored as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import urllib.parse
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from agentconsole.plugin import (
    Author,
    Capabilities,
    ChannelContext,
    ChannelPlugin,
    FetchResult,
    Identity,
    InboundMessage,
    Option,
    OutboundMessage,
    PermanentError,
    SendResult,
    TemporaryError,
    html_to_text,
)
from agentconsole.plugin.http import (
    HttpEndpoint,
    JsonBodyError,
    json_error,
    parse_json,
    parse_listen,
    read_limited,
    signature_matches,
)

from .client import DiscourseClient, NotFound
from .cursor import Cursor
from .items import json_type, number, objects, post_key

__all__ = ["DiscourseChannel", "marker"]

#: Topics read per fetch; a larger backlog is read in several batches (``more``).
TOPICS_PER_FETCH = 20
#: Posts asked for in one ``posts.json`` call (Discourse's own chunk size).
POSTS_PER_CALL = 20
#: Topic-list pages read per listing at most.
MAX_PAGES = 50
#: How far back ``find_sent`` looks in a topic, in posts.
FIND_SENT_WINDOW = 50
#: Largest webhook body accepted.
MAX_WEBHOOK_BODY = 2 * 1024 * 1024
#: Post types: 1 regular, 2 moderator action, 3 small action ("closed the topic"), 4 whisper.
STORED_POST_TYPES = (1, 2)
SYSTEM_USERS = ("system", "discobot")
_MARKER = re.compile(r"\s*<!--\s*agentconsole:[^>]*-->\s*$")


def marker(idempotency_key: str) -> str:
    """The hidden HTML comment that identifies one reply in its raw text."""
    return f"<!-- agentconsole:{idempotency_key} -->"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class DiscourseChannel(ChannelPlugin):
    """Topics of a Discourse forum as conversations; replies posted into the topic."""

    type_name = "discourse"
    kind = "forum"
    capabilities = Capabilities(reply=True, threads=True)
    options = (
        Option("url", str, "the forum's address, e.g. https://forum.example.com", required=True),
        Option(
            "api_username",
            str,
            "the user the API key acts as (replies are posted as it)",
            required=True,
        ),
        Option("api_key", str, "a Discourse API key for api_username", secret=True, required=True),
        Option(
            "categories",
            list,
            "category slugs or ids to follow (empty: every category)",
            default=[],
        ),
        Option("poll_interval", float, "seconds between polls", default=60.0),
        Option(
            "history_days",
            int,
            "on the first fetch, read topics active in this many days",
            default=14,
        ),
        Option(
            "lookup_emails",
            bool,
            "link forum users to contacts by email (needs an admin or moderator API key)",
            default=False,
        ),
        Option(
            "webhook_listen",
            str,
            "address and port for Discourse webhooks, e.g. 127.0.0.1:8089 (empty: poll only)",
            default="",
        ),
        Option("webhook_secret", str, "the secret set on the Discourse webhook", secret=True),
        Option("timeout", float, "seconds allowed for each API call", default=30.0),
    )
    poll_interval = 60.0

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        options = context.options
        where = f"[channels.{context.name}]"
        self.where = where
        url = str(options.get("url") or "").strip().rstrip("/")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentError(f"{where} url = {url!r} must be the forum's http(s) address")
        self.host = parts.netloc
        self.namespace = f"discourse:{parts.hostname.lower()}"
        self.username = str(options.get("api_username") or "").strip()
        if not self.username:
            raise PermanentError(f"{where} needs api_username")
        self.categories = [str(c).strip().strip("/") for c in options.get("categories") or []]
        interval = float(options.get("poll_interval") or 60.0)
        if interval <= 0:
            raise PermanentError(f"{where} poll_interval must be more than 0")
        self.poll_interval = interval  # type: ignore[misc]  # per instance, from the option
        self.history_days = int(options.get("history_days") or 14)
        self.lookup_emails = bool(options.get("lookup_emails"))
        self.client = DiscourseClient(
            url,
            self.username,
            lambda: context.secret("api_key"),
            timeout=float(options.get("timeout") or 30.0),
            where=where,
        )
        self._category_ids: dict[str, tuple[int, str]] | None = None
        self._emails: dict[str, str | None] = {}
        self.webhook: HttpEndpoint | None = None
        self._webhook_secret: str | None = None
        listen = str(options.get("webhook_listen") or "").strip()
        has_secret = any(f"webhook_secret_{s}" in options for s in ("command", "env", "keyring"))
        if listen and not has_secret:
            raise PermanentError(
                f"{where} webhook_listen needs webhook_secret_command (the secret set on the "
                "Discourse webhook), so that only Discourse can post to it"
            )
        if listen:
            host, port = parse_listen(listen, where, "webhook_listen")
            self.webhook = HttpEndpoint(
                host,
                port,
                [web.get("/health", self._health), web.post("/{path:.*}", self._receive_webhook)],
                describe=f"webhook_listen in {where}",
                logger=self.log,
                on_overload=context.report_overload,
            )

    # -- reading ----------------------------------------------------------------------------

    async def _categories(self) -> dict[str, tuple[int, str]]:
        """Slug and id (as text) → (id, slug) of every category, subcategories included."""
        if self._category_ids is None:
            data = await self.client.get("/categories.json", {"include_subcategories": "true"})
            found: dict[str, tuple[int, str]] = {}
            problems: list[str] = []

            def walk(categories: Iterable[dict[str, Any]], depth: int = 0) -> None:
                for category in categories:
                    category_id, slug = number(category.get("id")), category.get("slug")
                    if category_id is None or not isinstance(slug, str):
                        problems.append("a category without a usable id or slug")
                        continue
                    found[slug] = found[str(category_id)] = (category_id, slug)
                    if depth < 10:  # Discourse nests two levels; a loop must not recurse
                        walk(objects(category.get("subcategory_list"), slug, problems), depth + 1)

            category_list = data.get("category_list")
            if not isinstance(category_list, dict):
                category_list = {}
                problems.append(f"category_list is {json_type(data.get('category_list'))}")
            walk(objects(category_list.get("categories"), "categories", problems))
            self._log_skipped("/categories.json", problems)
            self._category_ids = found
        return self._category_ids

    async def _sources(self) -> list[str]:
        """The topic-list paths to read: ``/latest.json`` or one per chosen category."""
        if not self.categories:
            return ["/latest.json"]
        known = await self._categories()
        paths = []
        for wanted in self.categories:
            entry = known.get(wanted.rsplit("/", 1)[-1])
            if entry is None:
                slugs = sorted({slug for _, slug in known.values()})
                raise PermanentError(
                    f"Discourse at {self.host} has no category {wanted!r} visible to "
                    f"{self.username} — check categories in {self.where} "
                    f"(available: {', '.join(slugs) or 'none'})"
                )
            paths.append(f"/c/{entry[1]}/{entry[0]}.json")
        return paths

    def _next_page(self, more_topics_url: Any) -> str | None:
        """The JSON path of a topic list's next page; only paths on this forum."""
        if (
            not isinstance(more_topics_url, str)
            or not more_topics_url.startswith("/")
            or more_topics_url.startswith("//")
        ):
            return None
        path, _, query = more_topics_url.partition("?")
        base_path = urllib.parse.urlsplit(self.client.base_url).path
        if base_path and path.startswith(base_path + "/"):
            path = path[len(base_path) :]  # a forum under a subfolder
        if not path.endswith(".json"):
            path += ".json"
        return f"{path}?{query}" if query else path

    async def _changed_topics(self, state: Cursor) -> tuple[list[tuple[datetime, str]], str | None]:
        """Topics with posts not yet read, oldest activity first, and the new watermark."""
        since = _time(state.since) or datetime.now(UTC) - timedelta(days=self.history_days)
        changed: dict[str, datetime] = {}
        newest = _time(state.since)
        for source in await self._sources():
            path: str | None = source
            pages = 0
            while path is not None and pages < MAX_PAGES:
                pages += 1
                data = await self.client.get(path)
                topic_list = data.get("topic_list")
                if not isinstance(topic_list, dict):
                    raise TemporaryError(
                        f"Discourse at {self.host} answered {path.split('?')[0]} without a topic"
                        f" list (topic_list is {json_type(topic_list)}); will retry"
                    )
                reached_old = False
                problems: list[str] = []
                for topic in objects(topic_list.get("topics"), "topics", problems):
                    bumped = _time(topic.get("bumped_at")) or _time(topic.get("last_posted_at"))
                    if bumped is None:
                        continue
                    pinned = bool(topic.get("pinned") or topic.get("pinned_globally"))
                    if bumped < since:
                        reached_old = reached_old or not pinned
                        continue
                    topic_number = number(topic.get("id"))
                    if topic_number is None:
                        problems.append(f"a topic without a usable id ({topic.get('title')!r})")
                        continue
                    topic_id = str(topic_number)
                    highest = number(topic.get("highest_post_number"))
                    # Without a usable count the topic is read: its posts say what is new.
                    if highest is None or highest > state.topics.get(topic_id, 0):
                        changed[topic_id] = max(bumped, changed.get(topic_id, bumped))
                    newest = bumped if newest is None or bumped > newest else newest
                self._log_skipped(path, problems)
                if reached_old:
                    break
                path = self._next_page(topic_list.get("more_topics_url"))
        ordered = sorted(((when, topic) for topic, when in changed.items()))
        return ordered, newest.isoformat() if newest else state.since

    async def _new_posts(
        self, topic_id: str, known: int
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The topic and its posts numbered above ``known``, in order."""
        topic = await self.client.get(f"/t/{topic_id}.json", {"include_raw": "true"})
        problems: list[str] = []
        stream = topic.get("post_stream")
        if not isinstance(stream, dict):
            problems.append(f"post_stream is {json_type(stream)}, not an object")
            stream = {}
        posts = self._keyed_posts(stream.get("posts"), problems)
        ids = stream.get("stream")
        ids = ids if isinstance(ids, list) else []
        missing = [i for i in map(number, ids) if i is not None and i not in posts]
        # Walk back from the end of the stream until the posts already read are reached.
        end = len(missing)
        while end > 0:
            chunk = missing[max(0, end - POSTS_PER_CALL) : end]
            end -= len(chunk)
            got = await self._posts_by_id(topic_id, chunk, problems)
            posts.update(got)
            if any(post_number <= known for post_number, _ in got.values()):
                break
        self._log_skipped(f"/t/{topic_id}.json", problems)
        new = sorted((pair for pair in posts.values() if pair[0] > known), key=lambda p: p[0])
        return topic, [post for _, post in new]

    @staticmethod
    def _keyed_posts(value: Any, problems: list[str]) -> dict[int, tuple[int, dict[str, Any]]]:
        """Post id → (post number, post) of the readable posts in ``value``."""
        keyed: dict[int, tuple[int, dict[str, Any]]] = {}
        for post in objects(value, "posts", problems):
            key = post_key(post, problems)
            if key is not None:
                keyed[key[0]] = (key[1], post)
        return keyed

    async def _posts_by_id(
        self, topic_id: str, ids: list[int], problems: list[str]
    ) -> dict[int, tuple[int, dict[str, Any]]]:
        params: list[tuple[str, str | int]] = [("post_ids[]", i) for i in ids]
        params.append(("include_raw", "true"))
        data = await self.client.get(f"/t/{topic_id}/posts.json", params)
        stream = data.get("post_stream")
        return self._keyed_posts(
            stream.get("posts") if isinstance(stream, dict) else None, problems
        )

    async def _email_of(self, username: str) -> str | None:
        if not self.lookup_emails or username.lower() == self.username.lower():
            return None
        if username not in self._emails:
            try:
                data = await self.client.get(f"/u/{urllib.parse.quote(username)}/emails.json")
                email = data.get("email")
                self._emails[username] = email if isinstance(email, str) and "@" in email else None
            except PermanentError as error:
                self.log.warning(
                    "%s: cannot read the email of %s (%s); lookup_emails is "
                    "turned off until restart",
                    self.name,
                    username,
                    error,
                )
                self.lookup_emails = False
                return None
        return self._emails[username]

    def post_url(self, slug: Any, topic_id: Any, post_number: Any) -> str:
        return self.client.url(f"/t/{slug or 'topic'}/{topic_id}/{post_number}")

    async def to_message(
        self, post: dict[str, Any], title: str, slug: Any
    ) -> InboundMessage | None:
        """The inbound message of one post, or ``None`` for a post that is not a message
        (small actions such as "closed the topic", staff whispers) or is a reply agentconsole
        itself posted (recognised by its marker)."""
        if (number(post.get("post_type")) or 1) not in STORED_POST_TYPES or post.get("deleted_at"):
            return None
        if number(post.get("id")) is None:
            raise KeyError("the post has no usable id")
        username = str(post.get("username") or "")
        from_agent = username.lower() == self.username.lower()
        raw = post.get("raw")
        if from_agent and not isinstance(raw, str):
            with contextlib.suppress(NotFound):
                raw = (await self.client.get(f"/posts/{post['id']}.json")).get("raw")
        if from_agent and isinstance(raw, str) and _MARKER.search(raw):
            # A reply agentconsole sent: the outbox already holds it and records its id.
            return None
        body = (
            _MARKER.sub("", raw).strip()
            if isinstance(raw, str)
            else html_to_text(str(post.get("cooked") or ""))
        )
        identities = [Identity(self.namespace, username)]
        email = await self._email_of(username)
        if email:
            identities.append(Identity("email", email))
        topic_id = post.get("topic_id")
        return InboundMessage(
            external_id=str(number(post["id"])),
            author=Author(str(post.get("name") or "").strip() or username, tuple(identities)),
            body=body,
            sent_at=_time(post.get("created_at")) or datetime.now(UTC),
            subject=title,
            thread_key=str(topic_id),
            # backslashreplace: a lone surrogate (valid JSON) is kept as the escape it came as.
            raw=json.dumps(post, ensure_ascii=False).encode("utf-8", "backslashreplace"),
            automated=username.lower() in SYSTEM_USERS,
            from_agent=from_agent,
            url=self.post_url(post.get("topic_slug") or slug, topic_id, post.get("post_number")),
        )

    async def fetch(self, cursor: str | None) -> FetchResult:
        """The new posts of up to :data:`TOPICS_PER_FETCH` changed topics; ``more`` while
        changed topics remain."""
        if self.webhook is not None and not self.webhook.running:
            self._webhook_secret = await asyncio.to_thread(self.context.secret, "webhook_secret")
            await self.webhook.start()
        state = Cursor.decode(cursor)
        if not state.pending:
            changed, next_since = await self._changed_topics(state)
            state.pending = [topic for _, topic in changed]
            state.next_since = next_since
        batch, state.pending = state.pending[:TOPICS_PER_FETCH], state.pending[TOPICS_PER_FETCH:]
        messages: list[InboundMessage] = []
        for topic_id in batch:
            known = state.topics.get(topic_id, 0)
            try:
                topic, posts = await self._new_posts(topic_id, known)
            except NotFound:
                self.log.info("%s: topic %s is gone; skipped", self.name, topic_id)
                continue
            title = str(topic.get("title") or "")
            for post in posts:
                message = await self.to_message(post, title, topic.get("slug"))
                if message is not None:
                    messages.append(message)
                known = max(known, number(post.get("post_number")) or 0)
            # Deleted posts still count in highest_post_number; none of them is unread.
            state.topics[topic_id] = max(known, number(topic.get("highest_post_number")) or 0)
        if not state.pending:
            state.since, state.next_since = state.next_since or state.since, None
        return FetchResult(tuple(messages), state.encode(), more=bool(state.pending))

    def _log_skipped(self, answer: str, problems: list[str]) -> None:
        """One warning per malformed item of an answer (the forum's text: cleaned)."""
        for problem in dict.fromkeys(problems):
            self.log.warning(
                "%s: skipped an item of %s from %s: %s",
                self.name,
                answer.split("?")[0][:200],
                self.host,
                problem[:300],
            )

    async def wait_for_activity(self, timeout: float) -> None:
        """Sleep until the next poll. Stops the webhook endpoint if the wait is cancelled
        (the channel stopped or moved to another process); the next fetch restarts it."""
        try:
            await asyncio.sleep(min(timeout, self.poll_interval))
        except asyncio.CancelledError:
            if self.webhook is not None:
                await self.webhook.stop()
            raise

    # -- webhooks ---------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "channel": self.name})

    async def _receive_webhook(self, request: web.Request) -> web.Response:
        body = await read_limited(request, MAX_WEBHOOK_BODY)
        if body is None:
            return self._reject(request, 413, f"the body is larger than {MAX_WEBHOOK_BODY} bytes")
        secret = self._webhook_secret or ""
        if not secret or not signature_matches(
            secret, body, request.headers.get("X-Discourse-Event-Signature")
        ):
            return self._reject(request, 401, "missing or wrong X-Discourse-Event-Signature")
        event = request.headers.get("X-Discourse-Event", "")
        if event != "post_created":
            return web.json_response({"status": "ignored", "event": event})
        try:
            event_body = parse_json(body)
        except JsonBodyError as error:
            return self._reject(request, 400, str(error), error.field)
        try:
            post = event_body["post"]
            if not isinstance(post, dict):
                raise TypeError("post is not an object")
            if self.categories and post.get("category_id") is not None:
                wanted = {
                    (await self._categories()).get(c.rsplit("/", 1)[-1], (None, ""))[0]
                    for c in self.categories
                }
                if int(post["category_id"]) not in wanted:
                    return web.json_response({"status": "ignored", "reason": "category"})
            message = await self.to_message(
                post, str(post.get("topic_title") or ""), post.get("topic_slug")
            )
        except (ValueError, KeyError, TypeError) as error:
            return self._reject(request, 400, f"not a Discourse post event: {error}")
        if message is None:
            return web.json_response({"status": "ignored", "reason": "post type"})
        try:
            await self.context.ingest([message])
        except TemporaryError as error:
            self.log.warning("%s: could not store a post now: %s", self.name, error)
            return json_error(
                503,
                "the post could not be stored right now; Discourse will retry",
                headers={"Retry-After": "5"},
            )
        except Exception:
            self.log.exception("%s: could not store post %s", self.name, message.external_id)
            return json_error(500, "the post could not be stored")
        return web.json_response({"status": "accepted", "id": message.external_id})

    def _reject(
        self, request: web.Request, status: int, reason: str, field: str = ""
    ) -> web.Response:
        self.log.warning(
            "%s: rejected webhook from %s: %d %s", self.name, request.remote, status, reason
        )
        return json_error(status, reason, field=field)

    # -- replying ---------------------------------------------------------------------------

    def _topic_of(self, message: OutboundMessage) -> int:
        if not message.thread_key or not message.thread_key.isdigit():
            raise PermanentError("this conversation is not a Discourse topic (no topic id)")
        return int(message.thread_key)

    async def send(self, message: OutboundMessage) -> SendResult:
        """Post the reply into the topic, as a reply to the post answered."""
        topic_id = self._topic_of(message)
        payload: dict[str, Any] = {
            "topic_id": topic_id,
            "raw": f"{message.body.rstrip()}\n\n{marker(message.idempotency_key)}",
        }
        if message.in_reply_to and message.in_reply_to.isdigit():
            try:
                answered = await self.client.get(f"/posts/{message.in_reply_to}.json")
                if int(answered.get("topic_id") or 0) == topic_id:
                    payload["reply_to_post_number"] = int(answered["post_number"])
            except NotFound:
                pass  # the post was deleted: answer the topic
        try:
            post = await self.client.post("/posts.json", payload)
        except NotFound:
            raise PermanentError(
                f"topic {topic_id} no longer exists on {self.host} (or {self.username} "
                "cannot see it)"
            ) from None
        return SendResult(
            str(post["id"]),
            self.post_url(post.get("topic_slug"), topic_id, post.get("post_number")),
        )

    async def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """An earlier attempt of ``message`` among the topic's last posts by the API user,
        recognised by its marker."""
        topic_id = self._topic_of(message)
        topic = await self.client.get(f"/t/{topic_id}.json", {"include_raw": "true"})
        ignored: list[str] = []
        stream = topic.get("post_stream")
        stream = stream if isinstance(stream, dict) else {}
        loaded = {
            key: post for key, (_, post) in self._keyed_posts(stream.get("posts"), ignored).items()
        }
        ids = stream.get("stream")
        ids = ids if isinstance(ids, list) else []
        recent = [i for i in map(number, ids[-FIND_SENT_WINDOW:]) if i is not None]
        missing = [i for i in recent if i not in loaded]
        for start in range(0, len(missing), POSTS_PER_CALL):
            got = await self._posts_by_id(
                str(topic_id), missing[start : start + POSTS_PER_CALL], ignored
            )
            loaded.update((key, post) for key, (_, post) in got.items())
        wanted = marker(message.idempotency_key)
        for post_id in reversed(recent):
            candidate = loaded.get(post_id)
            if (
                candidate is None
                or str(candidate.get("username") or "").lower() != self.username.lower()
            ):
                continue
            raw = candidate.get("raw")
            if not isinstance(raw, str):
                full = await self.client.get(f"/posts/{post_id}.json")
                raw = str(full.get("raw") or "")
            if wanted in raw:
                return SendResult(
                    str(post_id),
                    self.post_url(
                        candidate.get("topic_slug") or topic.get("slug"),
                        topic_id,
                        candidate.get("post_number"),
                    ),
                )
        return None

    async def close(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()
        await self.client.close()
