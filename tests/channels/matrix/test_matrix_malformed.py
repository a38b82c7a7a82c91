"""Malformed /sync answers through the real sync runner: a part with the wrong JSON type is
skipped with a logged (cleaned) reason and the rest is stored; an answer that cannot be
read at all is a temporary error with a clear reason, and the next good answer is stored."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiohttp import web

from agentconsole.logs import FORMAT, SafeFormatter
from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_matrix import MatrixChannel
from agentconsole_matrix.events import UNREADABLE_NOTE
from tests.conftest import http_server, one_channel_config

ME = "@support:example.org"
GOOD_ROOM = "!good:example.org"

SAFE = SafeFormatter(FORMAT)


def message_event(event_id: str, body: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "event_id": event_id,
        "sender": "@ada:example.org",
        "origin_server_ts": 1_790_000_000_000,
        "content": {"msgtype": "m.text", "body": body},
        "unsigned": {"age": 1234},
        **extra,
    }


def joined_room(*events: Any) -> dict[str, Any]:
    """A room of ``rooms.join`` as Synapse writes it."""
    return {
        "timeline": {"events": list(events), "limited": False, "prev_batch": "p1"},
        "state": {"events": []},
        "ephemeral": {"events": []},
        "account_data": {"events": []},
        "unread_notifications": {"notification_count": 0, "highlight_count": 0},
        "summary": {},
    }


def sync_answer(rooms: Any, next_batch: Any = "s2_1") -> dict[str, Any]:
    answer = {
        "next_batch": next_batch,
        "account_data": {"events": []},
        "presence": {"events": []},
        "to_device": {"events": []},
        "device_lists": {"changed": [], "left": []},
        "device_one_time_keys_count": {"signed_curve25519": 0},
        "rooms": rooms,
    }
    if next_batch is None:
        del answer["next_batch"]
    return answer


class Homeserver:
    """Answers /sync with the scripted answers in turn (the last one again when done)."""

    def __init__(
        self, answers: list[dict[str, Any]], history: dict[str, Any] | None = None
    ) -> None:
        self.answers = answers
        self.history = history or {"chunk": []}
        self.syncs = 0

    def app(self) -> web.Application:
        async def whoami(request: web.Request) -> web.Response:
            return web.json_response({"user_id": ME, "device_id": "DEV"})

        async def sync(request: web.Request) -> web.Response:
            answer = self.answers[min(self.syncs, len(self.answers) - 1)]
            self.syncs += 1
            return web.json_response(answer)

        async def messages(request: web.Request) -> web.Response:
            return web.json_response(self.history)

        app = web.Application()
        app.router.add_get("/_matrix/client/v3/account/whoami", whoami)
        app.router.add_get("/_matrix/client/v3/sync", sync)
        app.router.add_get("/_matrix/client/v3/rooms/{room}/messages", messages)
        return app


async def run(store: Store, homeserver: Homeserver, runners: list[SyncRunner]) -> str | None:
    async with http_server(homeserver.app()) as base:
        config = one_channel_config(
            "mx",
            {
                "type": "matrix",
                "homeserver": base,
                "user_id": ME,
                "access_token_command": "printf token",
            },
        )
        runner = SyncRunner(store, config, plugin_classes={"matrix": MatrixChannel})
        runners.append(runner)
        results = await runner.run_once()
        await runner.stop()
    return results["mx"]


async def stored(store: Store) -> dict[str, tuple[str, str | None]]:
    rows = await store.run_sync(
        lambda conn: conn.execute("SELECT external_id, body, parse_note FROM messages").fetchall()
    )
    return {external_id: (body, note) for external_id, body, note in rows}


async def test_malformed_rooms_and_events_are_skipped_and_the_rest_is_stored(
    store: Store, runners: list[SyncRunner], caplog: pytest.LogCaptureFixture
) -> None:
    hostile_room = "!evil\x1b]52;c;cm0gLXJmIH4=\x07:example.org"
    answer = sync_answer(
        {
            "join": {
                GOOD_ROOM: joined_room(
                    message_event("$good1", "my invoice is wrong"),
                    "not an event",
                    {"type": "m.room.message", "content": {"body": "no id"}},
                    message_event("$listed", "x", content=["a", "list"]),
                    message_event("$good2", "and the refund is late"),
                ),
                "!string:example.org": "a room that is a string",
                hostile_room: {"timeline": {"events": {"not": "a list"}}},
                "!empty:example.org": {"timeline": []},
            },
            "invite": [],
            "leave": {"!left:example.org": {"timeline": {"events": [5]}}},
        }
    )
    with caplog.at_level(logging.WARNING):
        assert await run(store, Homeserver([answer]), runners) is None
    found = await stored(store)
    assert set(found) == {"$good1", "$good2", "$listed"}
    assert found["$good1"] == ("my invoice is wrong", None)
    assert found["$listed"][1] == UNREADABLE_NOTE.format("it is a list, not an object")
    assert await store.channel_cursor("mx") == "s2_1"
    # What the log shows: every record goes through the one log formatter.
    logged = "\n".join(SAFE.format(record) for record in caplog.records)
    assert "room !string:example.org is a string, not an object" in logged
    assert f"an event in {GOOD_ROOM} is a string, not an object" in logged
    assert f"an event in {GOOD_ROOM} has no event_id" in logged
    assert "an event in !left:example.org is a number" in logged
    assert "timeline events of !evil" in logged and "is an object, not a list" in logged
    assert "\x1b" not in logged and "\x07" not in logged


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (sync_answer(["!a:example.org", "!b:example.org"]), "rooms is a list, not an object"),
        (sync_answer({"join": {}}, next_batch=None), "next_batch is null, not a token"),
        (sync_answer({"join": {}}, next_batch=17), "next_batch is a number, not a token"),
    ],
    ids=["rooms-list", "no-next-batch", "numeric-next-batch"],
)
async def test_an_unusable_answer_is_a_temporary_error_and_the_next_good_one_is_stored(
    store: Store, runners: list[SyncRunner], answer: dict[str, Any], reason: str
) -> None:
    good = sync_answer({"join": {GOOD_ROOM: joined_room(message_event("$after", "hello?"))}})
    homeserver = Homeserver([answer, good])
    error = await run(store, homeserver, runners)
    assert error is not None and reason in error and "will retry" in error
    assert await stored(store) == {} and await store.channel_cursor("mx") is None
    assert await run(store, homeserver, runners) is None
    assert set(await stored(store)) == {"$after"}


async def test_malformed_events_read_back_for_a_gap_are_skipped_and_the_rest_stored(
    store: Store, runners: list[SyncRunner], caplog: pytest.LogCaptureFixture
) -> None:
    room = joined_room(message_event("$newest", "is anyone there?"))
    room["timeline"]["limited"] = True
    history = {
        "chunk": [
            message_event("$older", "my order is late"),
            ["junk"],
            {"type": "m.room.message"},
        ],
        "state": "not a list",
        "start": "p1",
        "end": "p0",
    }
    homeserver = Homeserver([sync_answer({"join": {GOOD_ROOM: room}})], history)
    with caplog.at_level(logging.WARNING):
        assert await run(store, homeserver, runners) is None
    found = await stored(store)
    assert set(found) == {"$older", "$newest"}
    # What the log shows: every record goes through the one log formatter.
    logged = "\n".join(SAFE.format(record) for record in caplog.records)
    assert f"state read back in {GOOD_ROOM} is a string, not a list" in logged
    assert f"an event in {GOOD_ROOM} is a list, not an object" in logged
    assert f"an event in {GOOD_ROOM} has no event_id" in logged


async def test_lone_surrogates_in_events_are_stored_with_a_note_and_the_original(
    store: Store, runners: list[SyncRunner]
) -> None:
    """``"\\ud800"`` is valid JSON that a homeserver may relay (Synapse itself refuses to
    store it, others and federated servers need not): neither store can encode it. The
    events are stored with U+FFFD and a note, each event's JSON kept exactly, and the
    channel's cursor moves on."""
    answer = sync_answer(
        {
            "join": {
                GOOD_ROOM: joined_room(
                    message_event("$odd", "refund \ud800 please"),
                    message_event("$odder", "and \udcff again"),
                    message_event("$plain", "thanks"),
                )
            }
        }
    )
    assert await run(store, Homeserver([answer]), runners) is None
    found = await stored(store)
    assert found["$odd"][0] == "refund \ufffd please"
    assert found["$odder"][0] == "and \ufffd again"
    assert found["$plain"] == ("thanks", None)
    assert "lone UTF-16 surrogates" in (found["$odd"][1] or "")
    assert await store.channel_cursor("mx") == "s2_1"
    message_id = await store.run_sync(
        lambda conn: conn.execute("SELECT id FROM messages WHERE external_id = '$odd'").fetchone()[
            0
        ]
    )
    raw = await store.raw_message(message_id)
    assert raw is not None and json.loads(raw)["content"]["body"] == "refund \ud800 please"
