"""Malformed Discourse items, served by the local Discourse stand-in: a topic or a post
without its id (or of the wrong JSON type) is skipped with a logged, cleaned reason and
the rest of the batch is stored; a listing without a topic list is a temporary error with a
clear reason, and the next good listing is read."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from agentconsole.logs import FORMAT, SafeFormatter
from agentconsole.store import Store

from .conftest import Forum, now_minus

SAFE = SafeFormatter(FORMAT)


async def stored_bodies(store: Store) -> set[str]:
    rows = await store.run_sync(lambda conn: conn.execute("SELECT body FROM messages").fetchall())
    return {body for (body,) in rows}


def serve_post_as(forum: Forum, post_id: int, change: Any) -> None:
    """Make the stand-in serve post ``post_id`` changed by ``change(post) -> JSON``."""
    original = forum.post_json

    def post_json(post: dict[str, Any], include_raw: bool) -> Any:
        data = original(post, include_raw)
        return change(data) if post["id"] == post_id else data

    forum.post_json = post_json  # type: ignore[method-assign]


def serve_topic_as(forum: Forum, topic_id: int, change: Any) -> None:
    original = forum.topic_summary

    def topic_summary(topic: dict[str, Any]) -> Any:
        data = original(topic)
        return change(data) if topic["id"] == topic_id else data

    forum.topic_summary = topic_summary  # type: ignore[method-assign]


def without(key: str) -> Any:
    return lambda data: {k: v for k, v in data.items() if k != key}


async def test_posts_without_an_id_or_of_the_wrong_type_are_skipped_and_the_rest_stored(
    forum: Forum, discourse_runner: Any, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    topic = forum.add_topic("Printer offline", "grace", "My printer is offline.", at=now_minus(9))
    no_id = forum.add_post(topic, "linus", "A post the forum sent without its id.")
    as_text = forum.add_post(topic, "grace", "A post the forum sent as a string.")
    no_number = forum.add_post(topic, "linus", "A post without a post_number.")
    forum.add_post(topic, "grace", "Still offline after the reboot.")
    serve_post_as(forum, no_id["id"], without("id"))
    serve_post_as(forum, as_text["id"], lambda data: "\x1b[31mnot a post\x1b[0m")
    serve_post_as(forum, no_number["id"], without("post_number"))
    runner = discourse_runner()
    with caplog.at_level(logging.WARNING):
        assert await runner.run_once() == {"forum": None}
    assert await stored_bodies(store) == {
        "My printer is offline.",
        "Still offline after the reboot.",
    }
    # What the log shows: every record goes through the one log formatter.
    logged = "\n".join(SAFE.format(record) for record in caplog.records)
    assert f"/t/{topic}.json" in logged
    assert "a post has no usable id (id is null)" in logged
    assert "an item of posts is a string, not an object" in logged
    assert f"post {no_number['id']} has no usable post_number" in logged
    # Read past: the next poll does not read the topic again, nor repeat the warnings.
    forum.requests.clear()
    assert await runner.run_once() == {"forum": None}
    assert not [path for _, path in forum.requests if path.startswith("/t/")]


async def test_a_listed_topic_without_an_id_is_skipped_and_the_others_read(
    forum: Forum, discourse_runner: Any, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    broken = forum.add_topic("\x1b]0;owned\x07Broken topic", "grace", "Unseen.", at=now_minus(8))
    forum.add_topic("Refund twice?", "linus", "I was charged twice.", at=now_minus(7))
    uncounted = forum.add_topic("Odd count", "grace", "Count me anyway.", at=now_minus(6))
    serve_topic_as(forum, broken, without("id"))
    serve_topic_as(forum, uncounted, lambda data: {**data, "highest_post_number": "many"})
    runner = discourse_runner()
    with caplog.at_level(logging.WARNING):
        assert await runner.run_once() == {"forum": None}
    assert await stored_bodies(store) == {"I was charged twice.", "Count me anyway."}
    # What the log shows: every record goes through the one log formatter.
    logged = "\n".join(SAFE.format(record) for record in caplog.records)
    assert "a topic without a usable id" in logged and "Broken topic" in logged
    assert "\x1b" not in logged and "\x07" not in logged


async def test_a_listing_without_a_topic_list_is_a_temporary_error_then_recovers(
    forum: Forum, discourse_runner: Any, store: Store
) -> None:
    forum.add_topic("Login loop", "grace", "I keep getting logged out.", at=now_minus(5))
    original = forum.topic_list
    forum.topic_list = lambda *args: {"topic_list": ["not", "a", "list"]}  # type: ignore[method-assign]
    runner = discourse_runner()
    error = (await runner.run_once())["forum"]
    assert error is not None and "without a topic list (topic_list is a list)" in error
    assert await stored_bodies(store) == set()
    forum.topic_list = original  # type: ignore[method-assign]
    assert await runner.run_once() == {"forum": None}
    assert await stored_bodies(store) == {"I keep getting logged out."}


async def test_lone_surrogates_in_a_post_are_stored_with_a_note(
    forum: Forum, discourse_runner: Any, store: Store
) -> None:
    """A post whose JSON holds ``"\\ud800"`` (valid JSON; neither store can encode it) is
    stored with U+FFFD and a note, its JSON kept exactly, and the rest of the topic too."""
    topic = forum.add_topic("Printer \ud800 offline", "grace", "Offline \udc80 again.")
    forum.add_post(topic, "linus", "Same here.")
    runner = discourse_runner()
    assert await runner.run_once() == {"forum": None}
    assert await stored_bodies(store) == {"Offline \ufffd again.", "Same here."}
    rows = await store.run_sync(
        lambda conn: conn.execute(
            "SELECT id, subject, parse_note FROM messages ORDER BY id"
        ).fetchall()
    )
    assert [subject for _, subject, _ in rows] == ["Printer \ufffd offline"] * 2
    assert all("lone UTF-16 surrogates" in note for _, _, note in rows)
    raw = await store.raw_message(rows[0][0])
    assert raw is not None and "Offline \udc80 again." in json.loads(raw)["raw"]
