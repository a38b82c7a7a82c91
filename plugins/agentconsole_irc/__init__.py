"""The IRC channel: channels and private messages, one conversation per customer nick.

A customer writing in ``#support`` is the conversation ``#support/<nick>``; a private
message is ``pm/<nick>``. Replies go back the same way: ``nick: text`` in the channel, a
PRIVMSG to the nick in private. IRC keeps no history, so messages are buffered in memory
from the moment the connection is up until the core has committed them (the cursor
acknowledges them); with the IRCv3 ``server-time`` capability (a bouncer replaying its
buffer) the same line gets the same external id, so a replay is stored once.

Reconnecting: when the link drops, ``fetch`` raises :class:`TemporaryError` while the server
cannot be reached, and the core retries it with backoff; a nick in use gets ``_`` appended.
Sending respects a flood limit (a token bucket: 4 lines at once, then 1 a second), splits a
long reply at the 512-byte line limit between words, and confirms delivery with a PING
round trip, so "no such nick" fails the reply with a reason instead of losing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from datetime import UTC, datetime

from agentconsole.plugin import (
    Author,
    Capabilities,
    ChannelContext,
    ChannelKind,
    ChannelPlugin,
    FetchResult,
    Identity,
    InboundMessage,
    Option,
    OutboundMessage,
    PermanentError,
    SendResult,
    TemporaryError,
    is_loopback,
)

from .connection import IrcConnection, Received, Settings
from .protocol import TokenBucket, irc_lower, split_message, strip_formatting, text_budget

__all__ = ["IrcChannel"]

CHANNEL_PREFIXES = "#&+!"
#: Flood limit on what we send: this many lines at once, then ``LINES_PER_SECOND``.
BURST_LINES = 4
LINES_PER_SECOND = 1.0


def thread_key_for(target: str, nick: str, own_nick: str) -> str:
    """``#chan/nick`` for a channel message, ``pm/nick`` for a private one (lower case)."""
    if target[:1] in CHANNEL_PREFIXES:
        return f"{irc_lower(target)}/{irc_lower(nick)}"
    return f"pm/{irc_lower(nick)}"


def external_id_for(server: str, received: Received) -> str:
    """Stable for the same line: the server's ``msgid`` tag when it gives one; else a hash
    of server, target, nick and text with the ``server-time`` tag (the same when a bouncer
    replays it) or, without one, this connection's id and the line's sequence number."""
    tags = received.line.tags
    if tags.get("msgid"):
        return f"irc:{server}:{tags['msgid']}"
    stamp = tags.get("time") or f"{received.connection_id}:{received.sequence}"
    target = received.line.params[0]
    parts = [server, irc_lower(target), irc_lower(received.line.nick), received.text, stamp]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    return f"irc:{digest}"


def _parse_time(value: str | None) -> datetime:
    if value:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return datetime.now(UTC)


def inbound_from(server: str, own_nick: str, received: Received) -> InboundMessage:
    """Normalize one received PRIVMSG/NOTICE."""
    line = received.line
    target, nick = line.params[0], line.nick
    text = received.text
    if text.startswith("\x01ACTION"):
        text = f"* {nick} {text[7:].strip(chr(1)).strip()}"
    body = strip_formatting(text)
    key = thread_key_for(target, nick, own_nick)
    where = target if target[:1] in CHANNEL_PREFIXES else "private message"
    return InboundMessage(
        external_id=external_id_for(server, received),
        author=Author(nick, (Identity(f"irc:{server}", irc_lower(nick)),)),
        body=body,
        sent_at=_parse_time(line.tags.get("time")),
        subject=f"{nick} in {where}",
        thread_key=key,
        raw=received.raw,
        parse_note=received.decode_note,
        automated=line.command == "NOTICE",
    )


class IrcChannel(ChannelPlugin):
    """IRC over TLS (or plain), SASL PLAIN or a server password, channels and private
    messages."""

    type_name = "irc"
    kind: ChannelKind = "chat"
    capabilities = Capabilities(reply=True, attachments=False, threads=False, push=True)
    options = (
        Option("server", str, "IRC server host name, e.g. irc.libera.chat", required=True),
        Option("port", int, "server port (6697 for TLS, 6667 plain)", default=6697),
        Option("tls", bool, "connect with TLS", default=True),
        Option("tls_verify", bool, "check the server's TLS certificate", default=True),
        Option("nick", str, "the nick to use (a _ is appended while it is taken)", required=True),
        Option("channels", list, 'channels to join, e.g. ["#support"]', default=[]),
        Option(
            "sasl_username", str, "account name for SASL PLAIN login (empty: no SASL)", default=""
        ),
        Option(
            "password",
            str,
            "SASL password, or the server password without sasl_username",
            secret=True,
        ),
        Option("realname", str, "the real name shown in WHOIS", default="agentconsole"),
    )
    poll_interval = 60.0
    #: A line said is gone: after a crash mid-send, the agent checks the channel and
    #: retries ("unknown — check the channel") rather than the customer reading it twice.
    resend_when_unsure = False

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        options = context.options
        self.server = str(options["server"])
        self.port = int(options.get("port") or 6697)
        self.nick = str(options["nick"])
        channels = list(options.get("channels") or [])
        for channel in channels:
            if channel[:1] not in CHANNEL_PREFIXES or " " in channel or "," in channel:
                raise PermanentError(
                    f"[channels.{context.name}] channels: {channel!r} is not an IRC channel name"
                    " (it starts with #)"
                )
        self.channels = tuple(channels)
        self._session = secrets.token_hex(4)
        self._sequence = 0
        self._buffer: list[tuple[int, InboundMessage]] = []
        self._display: dict[str, str] = {}  # lowered nick → as the customer writes it
        self._sent: dict[str, SendResult] = {}
        self._connection: IrcConnection | None = None
        self._activity = asyncio.Event()
        self._bucket = TokenBucket(LINES_PER_SECOND, BURST_LINES)
        self._last_error: str | None = None

    # -- connection -------------------------------------------------------------------------

    def _settings(self) -> Settings:
        options = self.context.options
        has_password = self.context.has_secret("password")
        sasl_username = str(options.get("sasl_username") or "")
        if sasl_username and not has_password:
            raise PermanentError(
                f"[channels.{self.name}] sasl_username is set but there is no password_command"
                " (or password_env / password_keyring)"
            )
        tls = bool(options.get("tls", True))
        if has_password and not tls and not is_loopback(self.server):
            raise PermanentError(
                f"[channels.{self.name}] tls = false would send the password in clear text to "
                f"{self.server}: set tls = true (port 6697), or use a loopback server"
            )
        return Settings(
            server=self.server,
            port=self.port,
            tls=tls,
            tls_verify=bool(options.get("tls_verify", True)),
            nick=self.nick,
            realname=str(options.get("realname") or "agentconsole"),
            channels=self.channels,
            sasl_username=sasl_username,
            password=self.context.secret("password") if has_password else None,
            channel_name=self.name,
        )

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.closed

    async def _ensure_connected(self) -> IrcConnection:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        connection = IrcConnection(
            self._settings(), self._received, self._closed, self.log, self._bucket
        )
        await connection.open()
        self._connection = connection
        self._last_error = None
        self.log.info("IRC: connected to %s as %s", connection.where, connection.nick)
        return connection

    def _received(self, received: Received) -> None:
        connection = self._connection
        own = connection.nick if connection else self.nick
        message = inbound_from(self.server, own, received)
        self._display[irc_lower(received.line.nick)] = received.line.nick
        self._sequence += 1
        self._buffer.append((self._sequence, message))
        self._activity.set()

    def _closed(self, reason: str) -> None:
        self._last_error = reason
        if reason != "closed":
            self.log.warning("IRC: disconnected from %s:%s: %s", self.server, self.port, reason)
        self._activity.set()

    # -- fetching ---------------------------------------------------------------------------

    def _acknowledge(self, cursor: str | None) -> None:
        session, _, number = (cursor or "").partition(":")
        if session == self._session and number.isdigit():
            acknowledged = int(number)
            self._buffer = [(n, m) for n, m in self._buffer if n > acknowledged]

    async def fetch(self, cursor: str | None) -> FetchResult:
        """The lines received since the committed ``cursor``; connects (again) when the link
        is down and raises :class:`TemporaryError` while the server cannot be reached."""
        self._acknowledge(cursor)
        if not self._buffer:
            await self._ensure_connected()
        messages = tuple(message for _, message in self._buffer)
        return FetchResult(messages, f"{self._session}:{self._sequence}")

    async def wait_for_activity(self, timeout: float) -> None:
        """Return when a line arrives or the link drops, or after ``timeout`` seconds."""
        if self._buffer or not self.connected:
            return
        self._activity.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._activity.wait(), timeout)

    # -- sending ----------------------------------------------------------------------------

    def _route(self, message: OutboundMessage) -> tuple[str, str]:
        """(target, lead): ``("#chan", "nick: ")`` in a channel, ``("nick", "")`` in private."""
        key = message.thread_key or ""
        place, _, nick = key.rpartition("/")
        if not nick:
            namespace = f"irc:{self.server}"
            nick = next((r.address for r in message.recipients if r.namespace == namespace), "")
            place = "pm"
        if not nick:
            raise PermanentError(f"IRC: this conversation has no nick on {self.server} to answer")
        connection = self._connection
        if connection is not None:
            nick = connection.renamed.get(irc_lower(nick), nick)
        nick = self._display.get(irc_lower(nick), nick)
        if place[:1] in CHANNEL_PREFIXES:
            return place, f"{nick}: "
        return nick, ""

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send the reply, split into lines that fit, at the flood rate; confirmed by a PING
        round trip. :class:`PermanentError` when the server says the nick or channel is
        gone."""
        earlier = self._sent.get(message.idempotency_key)
        if earlier is not None:
            return earlier
        if not self.connected:
            raise TemporaryError(
                f"IRC: not connected to {self.server}:{self.port}"
                + (f" ({self._last_error})" if self._last_error else "")
            )
        connection = self._connection
        assert connection is not None
        target, lead = self._route(message)
        budget = text_budget(connection.nick, connection.user_host, target, lead)
        lines = [lead + piece for piece in split_message(message.body, budget)]
        if not lines:
            raise PermanentError("IRC: the reply is empty")
        await connection.deliver(target, lines)
        result = SendResult(external_id=f"irc-out:{message.idempotency_key}")
        self._sent[message.idempotency_key] = result
        return result

    async def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """IRC keeps no record of what was said: only a reply this process confirmed is
        known. After a crash while sending, nobody can tell (see ``resend_when_unsure``)."""
        return self._sent.get(message.idempotency_key)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
