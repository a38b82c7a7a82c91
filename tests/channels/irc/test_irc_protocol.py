"""IRC wire details, fast: parsing, splitting at the line limit, the flood bucket, SASL
against a scripted server, and how lines become inbound messages."""

from __future__ import annotations

import asyncio
import base64
import logging

import pytest

from agentconsole.plugin import ChannelContext, PermanentError
from agentconsole_irc import IrcChannel, external_id_for, inbound_from, thread_key_for
from agentconsole_irc.connection import Received
from agentconsole_irc.protocol import (
    MAX_LINE_BYTES,
    TokenBucket,
    format_line,
    irc_lower,
    parse_line,
    split_message,
    strip_formatting,
    text_budget,
)


def test_parse_line_with_tags_prefix_and_trailing() -> None:
    line = parse_line(
        r"@time=2026-11-20T09:00:00.000Z;msgid=a\sb :Ada!ada@host PRIVMSG #support :hi there :)"
    )
    assert line.command == "PRIVMSG" and line.params == ("#support", "hi there :)")
    assert line.nick == "Ada" and line.is_from_user
    assert line.tags == {"time": "2026-11-20T09:00:00.000Z", "msgid": "a b"}
    assert parse_line("PING :irc.test").params == ("irc.test",)
    assert parse_line(":irc.test 001 agent :Welcome").params == ("agent", "Welcome")
    assert parse_line("").command == ""


def test_format_line_refuses_injected_commands() -> None:
    assert format_line("PRIVMSG", "#a", "hello world") == "PRIVMSG #a :hello world"
    with pytest.raises(ValueError):
        format_line("PRIVMSG", "#a", "hi\r\nQUIT :pwned")


def test_nick_case_folding_and_formatting_codes() -> None:
    assert irc_lower("Ada[Away]") == "ada{away}"
    assert strip_formatting("\x02bold\x02 \x0304,01red\x03 plain\x0f") == "bold red plain"


def test_split_respects_the_byte_budget_words_and_utf8() -> None:
    budget = text_budget("agent", None, "#support", "Customer: ")
    assert budget < MAX_LINE_BYTES - 100
    text = " ".join(["żółć-€"] * 200) + "\n\nsecond paragraph"
    pieces = split_message(text, budget)
    assert all(len(p.encode()) <= budget for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert pieces[-1] == "second paragraph"
    # A word longer than a line is cut between characters, never inside one.
    long_word = "é" * 400
    cut = split_message(long_word, 101)
    assert "".join(cut) == long_word and all(len(p.encode()) <= 101 for p in cut)
    assert split_message("\n \n", 50) == []


def test_token_bucket_allows_a_burst_then_one_per_second() -> None:
    now = [0.0]
    bucket = TokenBucket(1.0, 4, clock=lambda: now[0])
    assert [bucket.delay() for _ in range(4)] == [0, 0, 0, 0]
    assert bucket.delay() == pytest.approx(1.0)
    assert bucket.delay() == pytest.approx(2.0)
    now[0] = 10.0
    assert bucket.delay() == 0


def _received(raw: str, sequence: int = 1, connection: str = "c1") -> Received:
    line = parse_line(raw)
    return Received(line, line.params[-1], raw.encode(), None, connection, sequence)


def test_thread_keys_and_stable_external_ids() -> None:
    assert thread_key_for("#Support", "Ada", "agent") == "#support/ada"
    assert thread_key_for("agent", "Ada", "agent") == "pm/ada"
    timed = "@time=2026-11-20T09:00:00Z :Ada!a@h PRIVMSG #support :hello"
    # The same line replayed with its server-time (a bouncer) keeps its id...
    assert external_id_for("net", _received(timed, 1, "c1")) == external_id_for(
        "net", _received(timed, 9, "c2")
    )
    # ...while without server-time two identical lines are two messages.
    plain = ":Ada!a@h PRIVMSG #support :hello"
    assert external_id_for("net", _received(plain, 1)) != external_id_for(
        "net", _received(plain, 2)
    )
    message = inbound_from("net", "agent", _received(timed))
    assert message.thread_key == "#support/ada" and message.author.name == "Ada"
    assert message.author.identities[0].namespace == "irc:net"
    assert message.sent_at.isoformat() == "2026-11-20T09:00:00+00:00"
    notice = inbound_from("net", "agent", _received(":NickServ!s@services NOTICE agent :identify"))
    assert notice.automated and notice.thread_key == "pm/nickserv"


def _plugin(**options: object) -> IrcChannel:
    defaults = {o.name: o.default for o in IrcChannel.options if not o.secret}
    context = ChannelContext(
        "irc",
        {**defaults, **options},
        secret=lambda name: "s3cret pass",
        logger=logging.getLogger("test"),
    )
    return IrcChannel(context)


async def test_sasl_plain_login_against_a_scripted_server() -> None:
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(text: str) -> None:
            writer.write(text.encode() + b"\r\n")

        while data := await reader.readline():
            line = data.decode().rstrip("\r\n")
            seen.append(line)
            if line == "CAP LS 302":
                say(":srv CAP * LS :sasl=PLAIN server-time multi-prefix")
            elif line.startswith("CAP REQ"):
                say(f":srv CAP * ACK :{line.split(':', 1)[1]}")
            elif line == "AUTHENTICATE PLAIN":
                say("AUTHENTICATE +")
            elif line.startswith("AUTHENTICATE "):
                say(":srv 903 agent :SASL authentication successful")
            elif line == "CAP END":
                say(":srv 001 agent :Welcome")
            elif line.startswith("QUIT"):
                break
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    plugin = _plugin(
        server="127.0.0.1",
        port=port,
        tls=False,
        nick="agent",
        sasl_username="acme-bot",
        password_command="pass show irc",
    )
    try:
        await plugin.fetch(None)
        assert plugin.connected
    finally:
        await plugin.close()
        server.close()
    assert "CAP REQ :sasl server-time" in seen
    payload = next(
        line for line in seen if line.startswith("AUTHENTICATE ") and line != "AUTHENTICATE PLAIN"
    )
    assert base64.b64decode(payload.split()[1]) == b"acme-bot\0acme-bot\0s3cret pass"
    assert not any(line.startswith("PASS") for line in seen), "no password in clear with SASL"


async def test_sasl_is_required_when_configured() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.readline():
            if data.startswith(b"CAP LS"):
                writer.write(b":srv CAP * LS :multi-prefix\r\n")
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    plugin = _plugin(
        server="127.0.0.1",
        port=port,
        tls=False,
        nick="agent",
        sasl_username="acme-bot",
        password_command="pass show irc",
    )
    try:
        with pytest.raises(PermanentError, match="does not offer SASL"):
            await plugin.fetch(None)
    finally:
        await plugin.close()
        server.close()


def test_channel_names_are_checked() -> None:
    with pytest.raises(PermanentError, match="not an IRC channel name"):
        _plugin(server="h", nick="n", channels=["support"])
