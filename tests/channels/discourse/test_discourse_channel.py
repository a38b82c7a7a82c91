"""The Discourse channel end to end through the real sync runner, against a local server
speaking the Discourse REST API: polling with pagination, 429s, replies, find_sent, webhooks."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from agentconsole.models import View
from agentconsole.plugin import TemporaryError
from agentconsole.plugin.http import sign
from agentconsole.store import Store

from .conftest import Forum, now_minus, webhook_body

WEBHOOK_SECRET = "hook-secret"


async def by_subject(store: Store) -> dict[str, object]:
    details = [await store.conversation(c) for c in await store.conversation_ids(View("all"))]
    return {d.row.subject: d for d in details}


async def message_count(store: Store) -> int:
    return await store.run_sync(lambda c: c.execute("SELECT count(*) FROM messages").fetchone()[0])


def populate(forum: Forum) -> dict[str, int]:
    forum.per_page = 3
    topics = {}
    topics["printer"] = forum.add_topic(
        "Printer will not sync",
        "grace",
        "Since 4.2 my **printer** stops syncing.",
        at=now_minus(50),
    )
    forum.add_post(topics["printer"], "support", "Which model is it?", reply_to=1, at=now_minus(45))
    forum.add_post(
        topics["printer"], "grace", "The X200, bought in May.", reply_to=2, at=now_minus(40)
    )
    forum.add_post(topics["printer"], "system", "closed the topic", at=now_minus(39), post_type=3)
    topics["long"] = forum.add_topic(
        "Huge thread about exports", "linus", "Post 1 of the export saga", at=now_minus(300)
    )
    for number in range(2, 46):
        forum.add_post(
            topics["long"],
            "linus" if number % 2 else "grace",
            f"Post {number} of the export saga",
            at=now_minus(300 - number),
        )
    topics["refund"] = forum.add_topic(
        "Refund twice?", "linus", "I was charged twice.", category=9, at=now_minus(30)
    )  # billing, under support
    for n in range(4):
        forum.add_topic(f"Filler question {n}", "grace", f"Filler body {n}", at=now_minus(100 + n))
    topics["lounge"] = forum.add_topic(
        "Off topic: cats", "grace", "Cats!", category=7, at=now_minus(10)
    )
    topics["rules"] = forum.add_topic(
        "Read me first", "support", "Forum rules", pinned=True, at=now_minus(60 * 24 * 400)
    )
    topics["ancient"] = forum.add_topic(
        "An ancient question", "grace", "From long ago", at=now_minus(60 * 24 * 100)
    )
    return topics


async def test_polling_reads_categories_page_by_page_and_long_topics(
    forum: Forum, discourse_runner, store: Store
) -> None:
    topics = populate(forum)
    runner = discourse_runner(categories=["support"])
    assert await runner.run_once() == {"forum": None}
    found = await by_subject(store)
    assert set(found) == {
        "Printer will not sync",
        "Huge thread about exports",
        "Refund twice?",
        *(f"Filler question {n}" for n in range(4)),
    }
    # Pages were followed (3 topics a page), and the 45-post topic read past its first chunk.
    paths = [path for _, path in forum.requests]
    assert "/c/support/5/l/latest.json?page=1" in paths
    assert any(p.startswith(f"/t/{topics['long']}/posts.json?post_ids") for p in paths)
    saga = found["Huge thread about exports"]
    assert [m.body for m in saga.messages] == [f"Post {n} of the export saga" for n in range(1, 46)]
    printer = found["Printer will not sync"]
    assert [(m.direction, m.body) for m in printer.messages] == [
        ("in", "Since 4.2 my **printer** stops syncing."),  # raw, not cooked
        ("out", "Which model is it?"),  # our API user, written on the site
        ("in", "The X200, bought in May."),
    ]  # the "closed the topic" small action is not a message
    first = printer.messages[0]
    assert first.url == f"{forum.base}/t/printer-will-not-sync/{topics['printer']}/1"
    assert first.author == "Grace Hopper" and printer.row.channel_kind == "forum"
    assert {(i.namespace, i.address) for i in printer.contact.identities} == {
        ("discourse:127.0.0.1", "grace")
    }
    # Nothing changed: a second poll lists topics but reads no topic again.
    forum.requests.clear()
    assert await runner.run_once() == {"forum": None}
    assert not [p for _, p in forum.requests if p.startswith("/t/")]
    # A new post: only that topic is read, only that post stored.
    count = await message_count(store)
    forum.add_post(topics["refund"], "linus", "Still waiting on this one.")
    forum.requests.clear()
    assert await runner.run_once() == {"forum": None}
    assert {p.split("?")[0] for _, p in forum.requests if p.startswith("/t/")} == {
        f"/t/{topics['refund']}.json"
    }
    assert await message_count(store) == count + 1


async def test_every_category_emails_and_history_window(
    forum: Forum, discourse_runner, store: Store
) -> None:
    populate(forum)
    runner = discourse_runner(lookup_emails=True, history_days=30)
    assert await runner.run_once() == {"forum": None}
    found = await by_subject(store)
    assert "Off topic: cats" in found and "An ancient question" not in found
    assert "Read me first" not in found  # pinned long ago: not new activity
    identities = {(i.namespace, i.address) for i in found["Off topic: cats"].contact.identities}
    assert identities == {("discourse:127.0.0.1", "grace"), ("email", "grace@example.com")}


async def test_a_short_429_is_waited_out_and_a_long_one_reported(
    forum: Forum, discourse_runner, store: Store
) -> None:
    forum.add_topic("Login loop", "grace", "I keep getting logged out.")
    forum.rate_limits = [("GET", "/latest.json", "1")]
    runner = discourse_runner()
    started = time.monotonic()
    assert await runner.run_once() == {"forum": None}
    assert time.monotonic() - started >= 1.0
    assert [p for _, p in forum.requests].count("/latest.json") == 2
    assert "Login loop" in await by_subject(store)

    forum.rate_limits = [("GET", "/latest.json", "120")]
    plugin = await runner.plugin("forum")
    with pytest.raises(TemporaryError, match="rate limiting support") as raised:
        await plugin.fetch(None)
    assert raised.value.retry_after == 120


async def test_a_reply_is_posted_as_a_reply_to_the_post_answered(
    forum: Forum, discourse_runner, store: Store
) -> None:
    topic_id = forum.add_topic("Export to CSV?", "grace", "How do I export my orders to CSV?")
    forum.add_post(topic_id, "linus", "Same question here, also for JSON please.", reply_to=1)
    runner = discourse_runner()
    await runner.run_once()
    [conversation_id] = await store.conversation_ids(View("open"))
    await store.queue_reply(conversation_id, "Use Settings → Export; JSON is coming in 5.0.")
    assert await runner.run_once() == {"forum": None}
    posted = forum.posts[max(forum.posts)]
    assert posted["username"] == "support" and posted["topic_id"] == topic_id
    assert posted["reply_to_post_number"] == 2  # linus wrote last
    assert posted["raw"].startswith("Use Settings → Export; JSON is coming in 5.0.")
    assert "agentconsole:" in posted["raw"] and "agentconsole" not in posted["cooked"]
    reply = (await store.conversation(conversation_id)).messages[-1]
    assert (reply.state, reply.external_id) == ("sent", str(posted["id"]))
    assert reply.url == f"{forum.base}/t/export-to-csv/{topic_id}/3"
    # The next poll sees our post on the forum and does not store it a second time.
    assert await runner.run_once() == {"forum": None}
    assert await message_count(store) == 3


async def test_a_reply_that_reached_the_forum_is_not_posted_again(
    forum: Forum, discourse_runner, store: Store
) -> None:
    topic_id = forum.add_topic(
        "Where is my invoice?", "grace", "I cannot find the invoice for May."
    )
    runner = discourse_runner()
    await runner.run_once()
    [conversation_id] = await store.conversation_ids(View("open"))
    await store.queue_reply(conversation_id, "It is under Billing → Invoices.")
    forum.drop_after_posting = True
    await runner.run_once()
    reply = (await store.conversation(conversation_id)).messages[-1]
    assert reply.state == "queued" and "Discourse at" in reply.error  # the answer was lost
    await store.run_sync(lambda c: c.execute("UPDATE outbox SET next_attempt_at = 0"))
    assert await runner.run_once() == {"forum": None}
    ours = [
        p for p in forum.posts.values() if p["topic_id"] == topic_id and p["username"] == "support"
    ]
    assert len(ours) == 1
    reply = (await store.conversation(conversation_id)).messages[-1]
    assert (reply.state, reply.external_id) == ("sent", str(ours[0]["id"]))
    assert await message_count(store) == 2


async def test_a_wrong_api_key_is_reported_with_what_to_check(
    forum: Forum, discourse_runner
) -> None:
    runner = discourse_runner(api_key_command="printf wrong")
    [error] = (await runner.run_once()).values()
    assert error.startswith(
        f"Discourse at {forum.base.removeprefix('http://')} rejected the API "
        "key for user support (403)"
    )
    assert "check api_key_command and api_username in [channels.forum]" in error
    runner = discourse_runner(categories=["nosuch"])
    [error] = (await runner.run_once()).values()
    assert "has no category 'nosuch'" in error and "billing, lounge, support" in error


async def test_webhooks_store_signed_posts_and_refuse_others(
    forum: Forum, discourse_runner, store: Store
) -> None:
    runner = discourse_runner(
        webhook_listen="127.0.0.1:0",
        webhook_secret_command=f"printf {WEBHOOK_SECRET}",
        categories=["support"],
        poll_interval=3600.0,
    )
    await runner.run_once()  # starts the webhook endpoint
    plugin = await runner.plugin("forum")
    url = f"http://127.0.0.1:{plugin.webhook.bound_port}/discourse-webhook"
    topic_id = forum.add_topic("App crashes on start", "linus", "Version 5.1 crashes at launch.")
    lounge = forum.add_topic("Cats again", "grace", "More cats.", category=7)
    body = webhook_body(forum, forum.posts[forum.topics[topic_id]["posts"][0]])

    async def deliver(data: bytes, signature: str, event: str = "post_created") -> tuple[int, dict]:
        headers = {
            "Content-Type": "application/json",
            "X-Discourse-Event-Type": "post",
            "X-Discourse-Event": event,
            "X-Discourse-Event-Id": "77",
            "X-Discourse-Instance": forum.base,
            "X-Discourse-Event-Signature": signature,
        }
        async with aiohttp.ClientSession() as http, http.post(url, data=data, headers=headers) as r:
            return r.status, await r.json()

    assert (await deliver(body, sign("not-the-secret", body)))[0] == 401
    assert (await deliver(body, ""))[0] == 401
    assert await message_count(store) == 0
    assert await deliver(b"{}", sign(WEBHOOK_SECRET, b"{}"), event="ping") == (
        200,
        {"status": "ignored", "event": "ping"},
    )
    status, answer = await deliver(body, sign(WEBHOOK_SECRET, body))
    assert status == 200 and answer["status"] == "accepted"
    [conversation_id] = await store.conversation_ids(View("open"))
    conversation = await store.conversation(conversation_id)
    assert conversation.row.subject == "App crashes on start"
    assert conversation.messages[0].body == "Version 5.1 crashes at launch."
    other = webhook_body(forum, forum.posts[forum.topics[lounge]["posts"][0]])
    assert (await deliver(other, sign(WEBHOOK_SECRET, other)))[1]["reason"] == "category"
    bad = b'{"topic": {"id": 1}}'
    assert (await deliver(bad, sign(WEBHOOK_SECRET, bad)))[0] == 400
    # Polling later finds the same post and stores it once.
    assert await runner.run_once() == {"forum": None}
    assert await message_count(store) == 1
    assert json.loads(body)["post"]["id"] == int(conversation.messages[0].external_id)


async def test_a_backlog_is_read_in_committed_batches(
    forum: Forum, discourse_runner, store: Store
) -> None:
    for n in range(25):
        forum.add_topic(
            f"Question number {n}", "grace", f"Body of question {n}", at=now_minus(100 - n)
        )
    runner = discourse_runner()
    plugin = await runner.plugin("forum")
    first = await plugin.fetch(None)
    assert first.more and len(first.messages) == 20
    assert len(json.loads(first.cursor)["pending"]) == 5
    second = await plugin.fetch(first.cursor)
    assert not second.more and len(second.messages) == 5
    assert json.loads(second.cursor)["pending"] == []
    assert await runner.run_once() == {"forum": None}
    assert await message_count(store) == 25
