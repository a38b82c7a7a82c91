"""Matrix events to messages, and HTTP errors to the contract's errors, fast."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from agentconsole.plugin import ChannelContext, OutboundMessage, PermanentError, TemporaryError
from agentconsole_matrix import MatrixChannel
from agentconsole_matrix.events import (
    ENCRYPTED_NOTE,
    KEY_FIELD,
    REDACTED_NOTE,
    RoomState,
    strip_reply_fallback,
    to_inbound,
)

ROOM = "!room:example.org"
ME = "@support:example.org"


def event(
    content: dict,
    *,
    sender: str = "@ada:example.org",
    kind: str = "m.room.message",
    event_id: str = "$e1",
) -> dict:
    return {
        "type": kind,
        "event_id": event_id,
        "sender": sender,
        "origin_server_ts": 1_790_000_000_000,
        "content": content,
    }


def parse(raw: dict, room: RoomState | None = None):  # noqa: ANN201
    return to_inbound(raw, ROOM, room or RoomState(), ME)


def test_text_message_with_display_name_room_and_reply() -> None:
    room = RoomState()
    room.learn({"type": "m.room.name", "state_key": "", "content": {"name": "Billing"}})
    room.learn(
        {
            "type": "m.room.member",
            "state_key": "@ada:example.org",
            "content": {"membership": "join", "displayname": "Ada"},
        }
    )
    message, media = parse(
        event(
            {
                "msgtype": "m.text",
                "body": "> <@support:example.org> old text\n\nthe new question",
                "m.relates_to": {"m.in_reply_to": {"event_id": "$earlier"}},
            }
        ),
        room,
    )
    assert media is None
    assert message.body == "the new question" and message.references == ("$earlier",)
    assert (
        message.author.name == "Ada" and message.author.identities[0].address == "@ada:example.org"
    )
    assert message.thread_key == ROOM and message.subject == "Billing"
    assert message.sent_at.tzinfo is not None and message.external_id == "$e1"


def test_emote_notice_encrypted_redacted_and_state() -> None:
    emote, _ = parse(event({"msgtype": "m.emote", "body": "waves"}))
    assert emote.body == "* @ada:example.org waves"
    notice, _ = parse(event({"msgtype": "m.notice", "body": "build failed"}))
    assert notice.automated
    encrypted, _ = parse(
        event({"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x"}, kind="m.room.encrypted")
    )
    assert encrypted.parse_note == ENCRYPTED_NOTE and encrypted.body
    redacted, _ = parse(event({}))
    assert redacted.parse_note == REDACTED_NOTE
    assert (
        parse({"type": "m.room.member", "state_key": ME, "event_id": "$m", "content": {}}) is None
    )
    assert parse(event({"m.relates_to": {"rel_type": "m.annotation"}}, kind="m.reaction")) is None


def test_our_own_messages() -> None:
    typed, _ = parse(event({"msgtype": "m.text", "body": "typed in Element"}, sender=ME))
    assert typed.from_agent
    # A reply sent through the outbox is already stored: its echo is not a new message.
    assert parse(event({"msgtype": "m.text", "body": "x", KEY_FIELD: "k1"}, sender=ME)) is None


def test_files_and_encrypted_files() -> None:
    message, media = parse(
        event(
            {
                "msgtype": "m.image",
                "body": "shot.png",
                "url": "mxc://hs/abc",
                "info": {"mimetype": "image/png", "size": 10},
            }
        )
    )
    assert media is not None and (media.mxc, media.filename, media.size) == (
        "mxc://hs/abc",
        "shot.png",
        10,
    )
    message, media = parse(
        event({"msgtype": "m.file", "body": "secret.pdf", "file": {"url": "mxc://hs/enc"}})
    )
    assert media is None and "encrypted" in message.parse_note


def test_strip_reply_fallback_keeps_plain_quotes() -> None:
    assert strip_reply_fallback("> quoted\n\nanswer") == "answer"
    assert strip_reply_fallback("> only a quote") == "> only a quote"
    assert strip_reply_fallback("no quote") == "no quote"


def _plugin(homeserver: str) -> MatrixChannel:
    options = {o.name: o.default for o in MatrixChannel.options if not o.secret}
    options.update(homeserver=homeserver, user_id=ME, access_token_command="pass show mx")
    return MatrixChannel(
        ChannelContext("mx", options, secret=lambda name: "token", logger=logging.getLogger("test"))
    )


def _reply() -> OutboundMessage:
    return OutboundMessage("key1", "hi", "", ROOM, "$e1", (), (), "Alice")


async def test_rate_limits_become_temporary_errors_with_retry_after(aiohttp_server_factory) -> None:  # noqa: ANN001
    async def whoami(request: web.Request) -> web.Response:
        return web.json_response({"user_id": ME})

    async def limited(request: web.Request) -> web.Response:
        return web.json_response(
            {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 2500},
            status=429,
        )

    async def forbidden(request: web.Request) -> web.Response:
        return web.json_response({"errcode": "M_FORBIDDEN", "error": "not in room"}, status=403)

    app = web.Application()
    app.router.add_get("/_matrix/client/v3/account/whoami", whoami)
    app.router.add_put("/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}", limited)
    app.router.add_get("/_matrix/client/v3/sync", forbidden)
    url = await aiohttp_server_factory(app)
    plugin = _plugin(url)
    try:
        with pytest.raises(TemporaryError) as caught:
            await plugin.send(_reply())
        assert caught.value.retry_after == 2.5 and "M_LIMIT_EXCEEDED" in str(caught.value)
        with pytest.raises(PermanentError, match="M_FORBIDDEN"):
            await plugin.fetch(None)
    finally:
        await plugin.close()


async def test_a_token_for_another_account_is_refused(aiohttp_server_factory) -> None:  # noqa: ANN001
    async def whoami(request: web.Request) -> web.Response:
        return web.json_response({"user_id": "@someone-else:example.org"})

    app = web.Application()
    app.router.add_get("/_matrix/client/v3/account/whoami", whoami)
    plugin = _plugin(await aiohttp_server_factory(app))
    try:
        with pytest.raises(PermanentError, match="belongs to @someone-else"):
            await plugin.fetch(None)
    finally:
        await plugin.close()


def test_options_are_checked() -> None:
    with pytest.raises(PermanentError, match="must be a URL"):
        _plugin("matrix.example.org")
