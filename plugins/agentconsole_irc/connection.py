"""One IRC connection: registration (CAP, SASL PLAIN, server password, nick collisions),
then a reader task that answers PINGs and hands every message to a callback, and a rate-
limited writer whose ``deliver`` confirms delivery with a PING round trip.

Plain asyncio streams: IRC is a line protocol, and the libraries that exist either own the
event loop (their own reconnect and dispatch) or are unmaintained; what we need is small.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from agentconsole.plugin import PermanentError, TemporaryError

from .protocol import Line, TokenBucket, decode, format_line, irc_lower, parse_line

REGISTRATION_TIMEOUT = 30.0
#: Silence after which we PING the server; twice that and the link is taken as dead.
IDLE_PING_SECONDS = 120.0
CONFIRM_TIMEOUT = 30.0
#: Numerics that say a PRIVMSG to a target did not arrive.
DELIVERY_ERRORS = {
    "401": "no such nick (the customer left the server)",
    "403": "no such channel",
    "404": "cannot send to the channel (not joined, moderated or banned)",
    "406": "the nick was never on the server",
    "442": "not on that channel",
    "477": "the channel needs a registered nick",
    "486": "the customer accepts private messages only from registered nicks",
}
SASL_FAILURES = {"902", "904", "905", "906", "908"}


@dataclass(frozen=True, slots=True)
class Settings:
    server: str
    port: int
    tls: bool
    tls_verify: bool
    nick: str
    realname: str
    channels: tuple[str, ...]
    sasl_username: str
    password: str | None
    channel_name: str  # the [channels.NAME] for messages


@dataclass(slots=True)
class Received:
    """A message from a user, as it came: ``raw`` is the undecoded line."""

    line: Line
    text: str
    raw: bytes
    decode_note: str | None
    connection_id: str
    sequence: int


class IrcConnection:
    """Connect with :meth:`open`; messages from users go to ``on_message``; ``on_close`` is
    called once when the link drops (with the reason)."""

    def __init__(
        self,
        settings: Settings,
        on_message: Callable[[Received], None],
        on_close: Callable[[str], None],
        logger: logging.Logger,
        bucket: TokenBucket,
    ) -> None:
        self.settings = settings
        self.nick = settings.nick
        self.user_host: str | None = None
        self.capabilities: set[str] = set()
        self.connection_id = secrets.token_hex(4)
        self._on_message = on_message
        self._on_close = on_close
        self._log = logger
        self._bucket = bucket
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._sequence = 0
        self._pongs: dict[str, asyncio.Future[None]] = {}
        self._watch: tuple[str, list[str]] | None = None  # (lowered target, errors seen)
        self.renamed: dict[str, str] = {}  # lowered old nick → current nick
        self.closed = False
        self._closing = False

    @property
    def where(self) -> str:
        return f"{self.settings.server}:{self.settings.port}"

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, register and join the channels; raises TemporaryError (network) or
        PermanentError (rejected credentials, refused nick) with an actionable message."""
        settings = self.settings
        context: ssl.SSLContext | None = None
        if settings.tls:
            context = ssl.create_default_context()
            if not settings.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(
                    settings.server,
                    settings.port,
                    ssl=context,
                    server_hostname=settings.server if context else None,
                ),
                REGISTRATION_TIMEOUT,
            )
        except ssl.SSLCertVerificationError as error:
            raise PermanentError(
                f"IRC: the TLS certificate of {self.where} was refused ({error.verify_message});"
                f" fix the server name, or set tls_verify = false in [channels.{settings.channel_name}]"
            ) from None
        except (OSError, TimeoutError) as error:
            raise TemporaryError(f"IRC: cannot connect to {self.where}: {_reason(error)}") from None
        try:
            await asyncio.wait_for(self._register(), REGISTRATION_TIMEOUT)
        except TimeoutError:
            await self._drop()
            raise TemporaryError(f"IRC: {self.where} did not finish registration in time") from None
        except BaseException:
            await self._drop()
            raise
        if settings.channels:
            await self.write(format_line("JOIN", ",".join(settings.channels)))
        self._task = asyncio.create_task(self._read_loop(), name=f"irc:{self.where}")

    async def close(self, message: str = "agentconsole") -> None:
        self._closing = True
        if self._writer is not None and not self.closed:
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self.write(format_line("QUIT", message), limited=False), 2)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._drop()

    async def _drop(self) -> None:
        self.closed = True
        for future in self._pongs.values():
            if not future.done():
                future.set_exception(TemporaryError(f"IRC: the connection to {self.where} dropped"))
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                await asyncio.wait_for(self._writer.wait_closed(), 2)

    # -- writing ---------------------------------------------------------------------------

    async def write(self, line: str, *, limited: bool = True) -> None:
        if self._writer is None or self.closed:
            raise TemporaryError(f"IRC: not connected to {self.where}")
        if limited:
            await self._bucket.take()
        async with self._write_lock:
            try:
                self._writer.write(line.encode() + b"\r\n")
                await asyncio.wait_for(self._writer.drain(), CONFIRM_TIMEOUT)
            except (OSError, TimeoutError) as error:
                raise TemporaryError(
                    f"IRC: writing to {self.where} failed: {_reason(error)}"
                ) from None

    async def deliver(self, target: str, lines: list[str]) -> None:
        """Send ``lines`` as PRIVMSGs to ``target`` at the flood rate, then PING and wait for
        the PONG: the server handles a client's lines in order, so an error about ``target``
        (no such nick, cannot send to channel) arrives before it — raised as PermanentError."""
        token = "ac" + secrets.token_hex(6)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pongs[token] = future
        self._watch = (irc_lower(target), [])
        try:
            for text in lines:
                await self.write(format_line("PRIVMSG", target, text))
            await self.write(format_line("PING", token))
            try:
                await asyncio.wait_for(asyncio.shield(future), CONFIRM_TIMEOUT)
            except TimeoutError:
                raise TemporaryError(
                    f"IRC: {self.where} did not confirm the reply to {target} in time"
                ) from None
            errors = self._watch[1]
            if errors:
                raise PermanentError(f"IRC: reply to {target} not delivered: {errors[0]}")
        finally:
            self._pongs.pop(token, None)
            self._watch = None

    # -- reading ---------------------------------------------------------------------------

    async def _read(self, timeout: float) -> tuple[Line, bytes]:
        assert self._reader is not None
        data = await asyncio.wait_for(self._reader.readline(), timeout)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        raw = data.rstrip(b"\r\n")
        text, _ = decode(raw)
        return parse_line(text), raw

    async def _register(self) -> None:
        settings = self.settings
        if settings.password and not settings.sasl_username:
            await self.write(format_line("PASS", settings.password), limited=False)
        await self.write("CAP LS 302", limited=False)
        await self.write(format_line("NICK", self.nick), limited=False)
        await self.write(
            format_line("USER", settings.nick, "0", "*", settings.realname), limited=False
        )
        offered: set[str] = set()
        while True:
            try:
                line, _ = await self._read(REGISTRATION_TIMEOUT)
            except (OSError, ConnectionError) as error:
                raise TemporaryError(
                    f"IRC: {self.where} closed the connection during login: {_reason(error)}"
                ) from None
            command, params = line.command, line.params
            if command == "PING":
                await self.write(format_line("PONG", *params[-1:]), limited=False)
            elif command == "CAP" and len(params) >= 3:
                await self._negotiate(params, offered)
            elif command == "AUTHENTICATE" and params[:1] == ("+",):
                await self._authenticate()
            elif command == "903":
                await self.write("CAP END", limited=False)
            elif command in SASL_FAILURES:
                raise PermanentError(
                    f"IRC: SASL login to {self.where} as {settings.sasl_username} failed"
                    f" ({params[-1] if params else command}) — check sasl_username and"
                    f" password_command in [channels.{settings.channel_name}]"
                )
            elif command in ("433", "437"):
                self.nick = self.nick + "_"
                self._log.warning("IRC: nick in use on %s, trying %s", self.where, self.nick)
                await self.write(format_line("NICK", self.nick), limited=False)
            elif command == "432":
                raise PermanentError(
                    f"IRC: {self.where} refuses the nick {self.nick!r}: {params[-1]}"
                )
            elif command == "464":
                raise PermanentError(
                    f"IRC: {self.where} rejected the server password — check password_command"
                    f" in [channels.{settings.channel_name}]"
                )
            elif command == "ERROR":
                reason = params[-1] if params else ""
                if settings.password and "password" in reason.lower():
                    raise PermanentError(
                        f"IRC: {self.where} rejected the server password ({reason}) — check"
                        f" password_command in [channels.{settings.channel_name}]"
                    )
                raise TemporaryError(f"IRC: {self.where} refused the connection: {reason}")
            elif command == "001":
                self.nick = params[0] if params else self.nick
                return

    async def _negotiate(self, params: tuple[str, ...], offered: set[str]) -> None:
        settings = self.settings
        sub = params[1].upper()
        if sub == "LS":
            more = params[2] == "*"
            offered.update(item.split("=", 1)[0] for item in params[-1].split())
            if more:
                return
            wanted = {"server-time", "message-tags"} & offered
            if settings.sasl_username:
                if "sasl" not in offered:
                    raise PermanentError(
                        f"IRC: {self.where} does not offer SASL; remove sasl_username from"
                        f" [channels.{settings.channel_name}] to log in without it"
                    )
                wanted.add("sasl")
            if wanted:
                await self.write(format_line("CAP", "REQ", " ".join(sorted(wanted))), limited=False)
            else:
                await self.write("CAP END", limited=False)
        elif sub == "ACK":
            self.capabilities.update(params[-1].split())
            if "sasl" in self.capabilities and settings.sasl_username:
                await self.write("AUTHENTICATE PLAIN", limited=False)
            else:
                await self.write("CAP END", limited=False)
        elif sub == "NAK":
            if settings.sasl_username:
                raise PermanentError(f"IRC: {self.where} refused the SASL capability")
            await self.write("CAP END", limited=False)

    async def _authenticate(self) -> None:
        settings = self.settings
        user = settings.sasl_username
        payload = base64.b64encode(f"{user}\0{user}\0{settings.password or ''}".encode()).decode()
        chunks = [payload[i : i + 400] for i in range(0, len(payload), 400)] or ["+"]
        if len(chunks[-1]) == 400:
            chunks.append("+")
        for chunk in chunks:
            await self.write(f"AUTHENTICATE {chunk}", limited=False)

    async def _read_loop(self) -> None:
        reason = "the server closed the connection"
        idle = 0
        try:
            while True:
                try:
                    line, raw = await self._read(IDLE_PING_SECONDS)
                except TimeoutError:
                    idle += 1
                    if idle >= 2:
                        reason = "no answer from the server for 4 minutes"
                        return
                    await self.write(format_line("PING", "agentconsole"), limited=False)
                    continue
                idle = 0
                await self._handle(line, raw)
        except asyncio.CancelledError:
            reason = "closed"
            raise
        except (OSError, ConnectionError, TemporaryError) as error:
            reason = _reason(error)
        finally:
            await self._drop()
            self._on_close("closed" if self._closing else reason)

    async def _handle(self, line: Line, raw: bytes) -> None:
        command, params = line.command, line.params
        own = irc_lower(self.nick)
        if command == "PING":
            await self.write(format_line("PONG", *params[-1:]), limited=False)
        elif command == "PONG":
            future = self._pongs.get(params[-1] if params else "")
            if future is not None and not future.done():
                future.set_result(None)
        elif command in DELIVERY_ERRORS and len(params) >= 2:
            if self._watch is not None and irc_lower(params[1]) == self._watch[0]:
                self._watch[1].append(f"{DELIVERY_ERRORS[command]} ({params[-1]})")
        elif command == "JOIN" and irc_lower(line.nick) == own and "!" in line.prefix:
            self.user_host = line.prefix.split("!", 1)[1]
        elif command == "NICK" and params:
            if irc_lower(line.nick) == own:
                self.nick = params[0]
            else:
                self.renamed[irc_lower(line.nick)] = params[0]
        elif command == "KICK" and len(params) >= 2 and irc_lower(params[1]) == own:
            self._log.warning("IRC: kicked from %s by %s; rejoining", params[0], line.nick)
            await self.write(format_line("JOIN", params[0]))
        elif command == "ERROR":
            raise ConnectionResetError(params[-1] if params else "ERROR from the server")
        elif command in ("PRIVMSG", "NOTICE") and line.is_from_user and len(params) >= 2:
            if irc_lower(line.nick) == own:
                return
            text = params[-1]
            if await self._ctcp(line, text):
                return
            self._sequence += 1
            _, note = decode(raw)
            self._on_message(Received(line, text, raw, note, self.connection_id, self._sequence))

    async def _ctcp(self, line: Line, text: str) -> bool:
        """Answer CTCP queries; True when the line is a CTCP other than ACTION (not stored)."""
        if not (text.startswith("\x01") and len(text) > 1):
            return False
        query = text.strip("\x01")
        verb, _, argument = query.partition(" ")
        verb = verb.upper()
        if verb == "ACTION":
            return False
        if line.command == "PRIVMSG" and verb in ("VERSION", "PING", "CLIENTINFO"):
            answer = {
                "VERSION": "VERSION agentconsole",
                "PING": f"PING {argument}",
                "CLIENTINFO": "CLIENTINFO ACTION PING VERSION",
            }[verb]
            await self.write(format_line("NOTICE", line.nick, f"\x01{answer}\x01"))
        return True


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(error).strip()
    return text or type(error).__name__
