"""The website chat / API channel: customer messages arrive as signed JSON over HTTP, agent
replies leave as signed JSON POSTed to a callback URL.

A chat widget, a Telegram or Slack bridge or a shell script feeds the queue with
``POST /messages`` and a body such as::

    {"id": "m-1", "conversation": "c-42",
     "author": {"id": "u-7", "name": "Ada", "email": "ada@example.com"},
     "text": "Hello", "sent_at": "2026-11-20T09:00:00Z"}

signed with ``X-Signature: sha256=<hex HMAC-SHA256 of the raw body under the channel's
secret>``. ``author.role`` (``customer``, the default, ``bot`` or ``agent``) says who
wrote: a bot's or an agent's line is shown as theirs and never starts the customer's
waiting clock. ``"handoff": true`` hands the conversation from a bot to people: it comes
into the queue, open, the customer waiting from that message on, marked as handed off by
the bot. The hand-off (or any message) may carry ``"transcript": [message, …]``, the
earlier lines of the conversation as the bot saw them (each with ``id``, ``author``,
``text`` and ``sent_at``; ``conversation`` is the enclosing one's), stored in the same
transaction before it, so the agent reads everything the bot already asked. The endpoint answers ``202`` only once the message is committed to the store, so
a sender that sees 202 may forget the message; anything else means nothing was stored and
the sender should retry (a repeated ``id`` is stored once and answered 202 again).
``GET /health`` answers 200 while the endpoint runs.

A body that is not acceptable (not JSON, nested deeper than 64 levels, a lone surrogate
such as ``\ud800`` in any string, a missing field) is answered ``400`` with
``{"error": "...", "field": "author.name"}`` naming the field; ``503`` with ``Retry-After``
means only that the store cannot take the message right now. ``sent_at`` far in the past
or the future is stored as the arrival time, with a note. Slow clients are closed after
``header_timeout`` / ``body_timeout`` seconds, and at most ``max_connections`` are served at
once (by default a quarter of the process's file limit): when full, the slowest client is
dropped for a new one, or the new one is answered 503.

``author.email`` links the visitor to the mail customer with that address only when the
payload also says ``"email_verified": true`` (your site checked it, e.g. a logged-in user);
otherwise it is shown on the contact as claimed, for an agent to link by hand.

Replies are POSTed to ``callback_url`` as ``{"id", "conversation", "in_reply_to", "text",
"author": {"name"}, "sent_at"}``, signed the same way and with the same ``id`` (also sent as
``Idempotency-Key``) on every retry, so the receiver can drop repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from agentconsole.plugin import (
    Author,
    AuthorRole,
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
)
from agentconsole.plugin.http import (
    EndpointLimits,
    HttpEndpoint,
    JsonBodyError,
    LazySession,
    json_error,
    parse_json,
    parse_listen,
    read_limited,
    retry_after,
    sign,
    signature_matches,
)

__all__ = ["ApiChannel", "MessageError", "parse_message", "parse_messages"]

#: Most requests committed in one transaction when they arrive together.
MAX_BATCH = 200
#: Longest ``id``, ``conversation`` or author ``id`` accepted, in characters.
MAX_ID_LENGTH = 256
#: Most earlier lines a ``transcript`` may carry.
MAX_TRANSCRIPT = 500
ROLES: tuple[AuthorRole, ...] = ("customer", "bot", "agent")
USER_AGENT = "agentconsole-api/1"


class MessageError(ValueError):
    """A request body that is not a valid customer message; the text says what is wrong,
    ``field`` where (``""``: the whole body)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _identifier(data: dict[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    field = f"{where}{key}"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MessageError(f"{field} must be a non-empty string", field)
    text = str(value).strip()
    if not text:
        raise MessageError(f"{field} must be a non-empty string", field)
    if len(text) > MAX_ID_LENGTH:
        raise MessageError(f"{field} is longer than {MAX_ID_LENGTH} characters", field)
    return text


def _sent_at(value: Any) -> datetime:
    """The sender's time; one beyond what a datetime holds becomes the earliest or latest
    there is, which the core then replaces with the arrival time (with a note)."""
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return (datetime.max if value > 0 else datetime.min).replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise MessageError(
                "sent_at must be an ISO 8601 time such as 2026-11-20T09:00:00Z or a Unix timestamp",
                "sent_at",
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise MessageError("sent_at must be an ISO 8601 string or a Unix timestamp", "sent_at")


def parse_message(channel: str, body: bytes) -> InboundMessage:
    """The inbound message a ``POST /messages`` body describes (without its transcript);
    raises :class:`MessageError` naming the field at fault."""
    return parse_messages(channel, body)[-1]


def parse_messages(channel: str, body: bytes) -> list[InboundMessage]:
    """The messages a ``POST /messages`` body describes: its ``transcript`` lines, oldest
    first, then the message itself. Raises :class:`MessageError` naming the field."""
    try:
        data = parse_json(body)
    except JsonBodyError as error:
        raise MessageError(str(error), error.field) from None
    if not isinstance(data, dict):
        raise MessageError("the body must be a JSON object")
    conversation = _identifier(data, "conversation")
    transcript = data.get("transcript", [])
    if not isinstance(transcript, list) or not all(isinstance(m, dict) for m in transcript):
        raise MessageError("transcript must be a list of message objects", "transcript")
    if len(transcript) > MAX_TRANSCRIPT:
        raise MessageError(f"transcript holds more than {MAX_TRANSCRIPT} messages", "transcript")
    parsed = [
        _message(channel, conversation, line, f"transcript[{index}].", raw=None)
        for index, line in enumerate(transcript)
    ]
    handoff = data.get("handoff", False)
    if not isinstance(handoff, bool):
        raise MessageError("handoff must be true or false", "handoff")
    parsed.append(_message(channel, conversation, data, "", raw=body, handoff=handoff))
    return parsed


def _message(
    channel: str,
    conversation: str,
    data: dict[str, Any],
    where: str,
    *,
    raw: bytes | None,
    handoff: bool = False,
) -> InboundMessage:
    external_id = _identifier(data, "id", where)
    author = data.get("author")
    if not isinstance(author, dict):
        raise MessageError(
            f'{where}author must be an object such as {{"id": "u-7", "name": "Ada"}}',
            f"{where}author",
        )
    author_id = _identifier(author, "id", f"{where}author.")
    name = author.get("name", "")
    if not isinstance(name, str):
        raise MessageError(f"{where}author.name must be a string", f"{where}author.name")
    role = author.get("role", data.get("role", "customer"))
    if role not in ROLES:
        raise MessageError(
            f"{where}author.role must be one of {', '.join(ROLES)}, not {role!r}",
            f"{where}author.role",
        )
    identities = [Identity(f"api:{channel}", author_id)]
    email = author.get("email")
    verified = author.get("email_verified", data.get("email_verified", False))
    if not isinstance(verified, bool):
        raise MessageError("email_verified must be true or false", "email_verified")
    if email is not None:
        if not isinstance(email, str) or "@" not in email or len(email) > 320:
            raise MessageError(
                f"{where}author.email must be an email address", f"{where}author.email"
            )
        # Only an address the sender vouches for links the visitor to that mail customer.
        identities.append(Identity("email", email.strip(), verified=verified))
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise MessageError(f"{where}text must be a non-empty string", f"{where}text")
    return InboundMessage(
        external_id=external_id,
        author=Author(name.strip() or author_id, tuple(identities)),
        body=text,
        sent_at=_sent_at(data.get("sent_at")),
        thread_key=conversation,
        raw=raw,
        author_role=role,
        handoff=handoff,
    )


class ApiChannel(ChannelPlugin):
    """Signed JSON over HTTP in, signed JSON POSTed to a callback URL out."""

    type_name = "api"
    kind = "chat"
    capabilities = Capabilities(reply=True, push=True)
    options = (
        Option(
            "listen", str, "address and port the HTTP endpoint listens on", default="127.0.0.1:8088"
        ),
        Option(
            "secret",
            str,
            "shared key signing requests and replies (HMAC-SHA256)",
            secret=True,
            required=True,
        ),
        Option(
            "callback_url",
            str,
            "URL replies are POSTed to as signed JSON (empty: the channel cannot reply)",
            default="",
        ),
        Option("max_body", int, "largest accepted request body, in bytes", default=65536),
        Option("timeout", float, "seconds allowed for each callback request", default=15.0),
        Option(
            "header_timeout",
            float,
            "seconds a client has to send a request's headers before it is closed",
            default=10.0,
        ),
        Option(
            "body_timeout", float, "seconds a client has to send a request's body", default=30.0
        ),
        Option(
            "max_connections",
            int,
            "most connections served at once (0: a quarter of the process's file limit)",
            default=0,
        ),
    )
    #: Messages are pushed to the endpoint; fetch only keeps it running.
    poll_interval = 3600.0

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        options = context.options
        where = f"[channels.{context.name}]"
        self.where = where
        host, port = parse_listen(str(options.get("listen") or "127.0.0.1:8088"), where)
        self.callback_url = str(options.get("callback_url") or "").strip()
        if self.callback_url and not self.callback_url.startswith(("http://", "https://")):
            raise PermanentError(
                f"{where} callback_url = {self.callback_url!r} must be an http:// or https:// URL"
            )
        self.max_body = int(options.get("max_body") or 65536)
        self.timeout = float(options.get("timeout") or 15.0)
        self.endpoint = HttpEndpoint(
            host,
            port,
            [web.post("/messages", self._receive), web.get("/health", self._health)],
            describe=f"listen in {where}",
            logger=self.log,
            limits=EndpointLimits(
                header_timeout=float(options.get("header_timeout") or 10.0),
                body_timeout=float(options.get("body_timeout") or 30.0),
                max_connections=int(options.get("max_connections") or 0) or None,
            ),
            on_overload=context.report_overload,
        )
        self._secret: str | None = None
        self._http = LazySession(timeout=self.timeout, user_agent=USER_AGENT)
        self._closed = asyncio.Event()
        self._pending: list[tuple[list[InboundMessage], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    # -- receiving --------------------------------------------------------------------------

    async def _signing_key(self) -> str:
        """The secret, resolved off the event loop (its command may take a while)."""
        secret = self._secret
        if secret is None:
            secret = self._secret = await asyncio.to_thread(self.context.secret, "secret")
        return secret

    async def fetch(self, cursor: str | None) -> FetchResult:
        """Start the endpoint if it is not running; messages arrive through it, not here."""
        if not self.endpoint.running:
            await self._signing_key()
            await self.endpoint.start()
        return FetchResult((), cursor)

    async def wait_for_activity(self, timeout: float) -> None:
        """Sleep while the endpoint serves. Stops the endpoint if the core cancels the wait
        (the channel stopped or its lease went to another process), so the next ``fetch``
        starts it afresh."""
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), timeout)
        except asyncio.CancelledError:
            await self.endpoint.stop()
            raise

    def _reject(
        self, request: web.Request, status: int, reason: str, field: str = ""
    ) -> web.Response:
        self.log.warning(
            "%s: rejected POST /messages from %s: %d %s", self.name, request.remote, status, reason
        )
        return json_error(status, reason, field=field)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await read_limited(request, self.max_body)
        if body is None:
            return self._reject(request, 413, f"the body is larger than {self.max_body} bytes")
        secret = await self._signing_key()
        if not signature_matches(secret, body, request.headers.get("X-Signature")):
            return self._reject(
                request,
                401,
                "missing or wrong X-Signature: send sha256=<hex HMAC-SHA256 of the raw body>",
            )
        if request.content_type != "application/json":
            return self._reject(
                request, 415, f"Content-Type must be application/json, not {request.content_type}"
            )
        try:
            messages = parse_messages(self.name, body)
        except MessageError as error:
            return self._reject(request, 400, str(error), error.field)
        message = messages[-1]
        try:
            await self._commit(messages)
        except TemporaryError as error:
            self.log.warning("%s: could not store a message now: %s", self.name, error)
            return json_error(
                503,
                "the message could not be stored right now; retry later",
                headers={"Retry-After": "5"},
            )
        except Exception:
            self.log.exception("%s: could not store message %s", self.name, message.external_id)
            return json_error(500, "the message could not be stored; it was not accepted")
        return web.json_response({"status": "accepted", "id": message.external_id}, status=202)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "channel": self.name})

    async def _commit(self, messages: list[InboundMessage]) -> None:
        """Return once ``messages`` (one request's: a transcript and its message) are
        committed, together. Requests that arrive while a commit is under way are committed
        together in the next one (group commit), so the endpoint holds many requests a
        second without answering any before its message is stored."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((messages, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            try:
                await self.context.ingest(
                    [message for messages, _ in batch for message in messages]
                )
            except Exception:
                # One request may be at fault: store the others one by one.
                for messages, future in batch:
                    try:
                        await self.context.ingest(messages)
                    except Exception as error:
                        if not future.done():
                            future.set_exception(error)
                    else:
                        if not future.done():
                            future.set_result(None)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    # -- replying ---------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        """POST the reply to ``callback_url``; 2xx is delivered, 408/429/5xx and network
        failures are retried (honouring ``Retry-After``), other answers fail the reply."""
        if not self.callback_url:
            raise PermanentError(
                f"channel {self.name} has no callback_url, so replies cannot be delivered — "
                f"set callback_url in {self.where}"
            )
        if not message.thread_key:
            raise PermanentError("this conversation has no API conversation id to answer")
        payload = {
            "id": message.idempotency_key,
            "conversation": message.thread_key,
            "in_reply_to": message.in_reply_to,
            "text": message.body,
            "author": {"name": message.author_name},
            "sent_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "X-Signature": sign(await self._signing_key(), body),
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            async with self._http.get().post(
                self.callback_url, data=body, headers=headers
            ) as reply:
                status = reply.status
                text = (await reply.content.read(300)).decode("utf-8", "replace").strip()
                wait = retry_after(reply.headers)
        except TimeoutError:
            raise TemporaryError(
                f"the callback {self.callback_url} did not answer within {self.timeout:.0f}s"
            ) from None
        except aiohttp.ClientError as error:
            raise TemporaryError(
                f"cannot reach the callback {self.callback_url}: {error}"
            ) from None
        if 200 <= status < 300:
            return SendResult(external_id=message.idempotency_key)
        detail = f"the callback {self.callback_url} answered {status}" + (
            f": {text}" if text else ""
        )
        if status in (408, 425, 429) or status >= 500:
            raise TemporaryError(detail, retry_after=wait)
        if status in (401, 403):
            detail += f" — does it use the same secret as secret_command in {self.where}?"
        raise PermanentError(detail)

    async def close(self) -> None:
        self._closed.set()
        await self.endpoint.stop()
        await self._http.close()
