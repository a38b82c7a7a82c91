"""The Discourse webhook against hostile bodies, on real loopback HTTP: deep JSON and lone
surrogates are a 400 naming the field, never a 500 or a 503 Discourse would retry forever."""

from __future__ import annotations

import json

import aiohttp
import pytest

from agentconsole.models import View
from agentconsole.plugin.http import sign
from agentconsole.store import Store

from .conftest import Forum, webhook_body

WEBHOOK_SECRET = "hook-secret"


@pytest.mark.parametrize("hostile", ["deep", "surrogate"])
async def test_hostile_webhook_bodies_are_400_naming_the_field(
    forum: Forum, discourse_runner, store: Store, hostile: str
) -> None:
    runner = discourse_runner(
        webhook_listen="127.0.0.1:0",
        webhook_secret_command=f"printf {WEBHOOK_SECRET}",
        poll_interval=3600.0,
    )
    await runner.run_once()
    plugin = await runner.plugin("forum")
    url = f"http://127.0.0.1:{plugin.webhook.bound_port}/discourse-webhook"
    topic_id = forum.add_topic("App crashes on start", "linus", "Version 5.1 crashes.")
    event = json.loads(webhook_body(forum, forum.posts[forum.topics[topic_id]["posts"][0]]))
    if hostile == "deep":
        body = json.dumps(event)[:-1].encode() + b', "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    else:
        event["post"]["raw"] = "crash \ud800"
        body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Discourse-Event": "post_created",
        "X-Discourse-Event-Signature": sign(WEBHOOK_SECRET, body),
    }
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        status, answer = r.status, await r.json()
    assert status == 400
    if hostile == "deep":
        assert "nested deeper than 64 levels" in answer["error"]
    else:
        assert answer["field"] == "post.raw" and "lone surrogate" in answer["error"]
    assert await store.conversation_ids(View("all")) == []
