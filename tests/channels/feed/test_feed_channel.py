"""The feed channel end to end: real RSS/Atom files, over loopback HTTP and from disk,
through the real sync runner into the store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from agentconsole.models import View
from agentconsole.store import Store

from .conftest import DATA, feed_file

RSS = "application/rss+xml; charset=UTF-8"
ATOM = "application/atom+xml; charset=utf-8"


async def conversations(store: Store) -> dict[str, object]:
    """Subject → conversation detail of every open conversation."""
    details = [await store.conversation(c) for c in await store.conversation_ids(View("open"))]
    return {d.row.subject: d for d in details}


async def message_count(store: Store) -> int:
    return await store.run_sync(lambda c: c.execute("SELECT count(*) FROM messages").fetchone()[0])


async def test_rss_entries_become_read_only_conversations(feed_server, feed_runner, store) -> None:
    feed_server.documents["/feed.php"] = (RSS, feed_file("forum.rss"))
    runner = feed_runner(f"{feed_server.base}/feed.php")
    assert await runner.run_once() == {"news": None}
    assert runner.capabilities("news").read_only and not runner.capabilities("news").reply
    found = await conversations(store)
    assert set(found) == {
        "Printer stopped syncing after the 4.2 update",
        "Refund for a duplicate charge?",
    }  # the repeated item is stored once
    printer = found["Printer stopped syncing after the 4.2 update"]
    [message] = printer.messages
    assert printer.url == "https://community.acme.example/viewtopic.php?t=1201"
    assert printer.row.channel_kind == "forum" and message.author == "grace_h"
    assert "Since updating to 4.2 my printer no longer syncs." in message.body
    assert "Open settings" in message.body and "<p>" not in message.body
    assert message.sent_at == 1_795_165_920  # Fri, 20 Nov 2026 09:12:00 +0000
    refund = found["Refund for a duplicate charge?"]
    assert (
        refund.messages[0].body
        == "I was charged twice for my November invoice & need one refunded."
    )
    # The image in the entry was never fetched: only the feed itself was requested.
    assert [path for path, _, _ in feed_server.requests] == ["/feed.php"]


async def test_conditional_get_and_only_new_entries(feed_server, feed_runner, store) -> None:
    feed_server.documents["/discussions.atom"] = (ATOM, feed_file("github-discussions.atom"))
    runner = feed_runner(f"{feed_server.base}/discussions.atom")
    await runner.run_once()
    assert await message_count(store) == 2
    await runner.run_once()
    path, headers, status = feed_server.requests[-1]
    assert status == 304 and headers["If-None-Match"].startswith('"')
    assert headers["If-Modified-Since"] == "Fri, 20 Nov 2026 09:30:00 GMT"
    # A new discussion is published: the feed changes, only the new entry is stored.
    newer = feed_file("github-discussions.atom").replace(
        b"  <entry>",
        b"""  <entry>
    <id>tag:github.com,2008:Discussion/7000150</id>
    <published>2026-11-20T11:00:00Z</published><updated>2026-11-20T11:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://github.com/acme/acme-sdk/discussions/319"/>
    <title>Rate limits for the sandbox?</title>
    <content type="html">&lt;p&gt;What are they?&lt;/p&gt;</content>
    <author><name>hopper</name><uri>https://github.com/hopper</uri></author>
  </entry>
  <entry>""",
        1,
    )
    feed_server.documents["/discussions.atom"] = (ATOM, newer)
    await runner.run_once()
    assert feed_server.requests[-1][2] == 200
    found = await conversations(store)
    assert len(found) == 3 and await message_count(store) == 3
    new = found["Rate limits for the sandbox?"]
    assert new.url == "https://github.com/acme/acme-sdk/discussions/319"
    # The same GitHub user is one contact across discussions.
    assert new.contact.id == found["Webhook retries arrive out of order"].contact.id
    assert {(i.namespace, i.address) for i in new.contact.identities} == {
        ("feed:127.0.0.1", "https://github.com/hopper")
    }


async def test_stack_overflow_tag_feed(feed_server, feed_runner, store) -> None:
    feed_server.documents["/feeds/tag/acme-sdk"] = (ATOM, feed_file("stackoverflow-tag.atom"))
    assert await feed_runner(f"{feed_server.base}/feeds/tag/acme-sdk").run_once() == {"news": None}
    found = await conversations(store)
    question = found["acme-sdk: TokenExpiredError although the token was refreshed a second ago"]
    [message] = question.messages
    assert message.external_id == "https://stackoverflow.com/q/79012345"
    assert message.author == "ada.l"
    assert "acme.errors.TokenExpiredError: token expired at 09:39:58" in message.body
    assert question.url.startswith("https://stackoverflow.com/questions/79012345/")


async def test_a_feed_file_by_path_and_by_file_url(tmp_path: Path, feed_runner, store) -> None:
    path = tmp_path / "questions.atom"
    shutil.copy(DATA / "blog.atom", path)
    runner = feed_runner(str(path))
    assert await runner.run_once() == {"news": None}
    found = await conversations(store)
    export = found["Can I export my data to CSV and JSON?"]
    assert export.messages[0].body == "I need both formats for our audit. Is there an API for it?"
    assert {(i.namespace, i.address) for i in export.contact.identities} == {
        ("feed:news", "Margaret Hamilton"),
        ("email", "margaret@example.org"),
    }
    late = found["Two-factor codes arrive late"]
    assert late.url == "https://help.acme.example/questions/880"  # resolved against the feed
    assert late.contact.name == "Acme Status & Questions"  # no author: the feed speaks
    # Unchanged file: nothing read again; a touched file with the same entries: nothing new.
    assert await runner.run_once() == {"news": None}
    os.utime(path, ns=(1, 1))
    assert await runner.run_once() == {"news": None}
    assert await message_count(store) == 2
    other = feed_runner(path.as_uri())
    assert await other.run_once() == {"news": None}  # file:// URL, same channel and cursor


async def test_a_reply_on_a_feed_conversation_fails_with_a_reason(
    feed_server, feed_runner, store
) -> None:
    feed_server.documents["/q.atom"] = (ATOM, feed_file("stackoverflow-tag.atom"))
    runner = feed_runner(f"{feed_server.base}/q.atom")
    await runner.run_once()
    conversation_id = (await store.conversation_ids(View("open")))[0]
    await store.queue_reply(conversation_id, "answered on the site")
    await runner.run_once()
    reply = (await store.conversation(conversation_id)).messages[-1]
    assert reply.state == "failed" and "is read-only" in reply.error


async def test_errors_name_the_url_and_the_fix(feed_server, feed_runner, tmp_path) -> None:
    feed_server.documents["/page.html"] = ("text/html", b"<html><body><p>Hello</p></body></html>")
    results = await feed_runner(f"{feed_server.base}/gone.xml").run_once()
    assert "answered 404" in results["news"] and "check url in [channels.news]" in results["news"]
    results = await feed_runner(f"{feed_server.base}/page.html").run_once()
    assert "is not an RSS or Atom feed" in results["news"]
    results = await feed_runner(str(tmp_path / "missing.xml")).run_once()
    assert "does not exist" in results["news"]
    results = await feed_runner("ftp://example.com/feed.xml").run_once()
    assert "give an http(s) URL" in results["news"]


async def test_character_references_that_name_no_character_cost_no_entry(
    feed_server, feed_runner, store
) -> None:
    """``&#xD800;`` (a lone surrogate) or ``&#x110000;`` in one entry made the feed parser
    raise, so the whole feed was never read again: they read as U+FFFD and every entry is
    stored."""
    hostile = (
        feed_file("forum.rss")
        .replace(
            b"<title>Printer stopped syncing after the 4.2 update</title>",
            b"<title>Printer &#xD800; stopped &#56448; syncing &#x110000;</title>",
        )
        .replace(b"need one refunded.", b"need one refunded &#99999999999999999;.")
    )
    feed_server.documents["/feed.php"] = (RSS, hostile)
    runner = feed_runner(f"{feed_server.base}/feed.php")
    assert await runner.run_once() == {"news": None}
    found = await conversations(store)
    assert set(found) == {
        "Printer \ufffd stopped \ufffd syncing \ufffd",
        "Refund for a duplicate charge?",
    }
    refund = found["Refund for a duplicate charge?"]
    assert refund.messages[0].body.endswith("need one refunded \ufffd.")
