"""The API channel end to end: signed JSON over real loopback HTTP into the store through
the real sync runner, and replies POSTed to a real callback server."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp

from agentconsole.models import View
from agentconsole.plugin import Identity
from agentconsole.plugin.http import parse_listen, retry_after, sign, signature_matches
from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_api import ApiChannel
from tests.conftest import inbound

from .conftest import SECRET, api_config, customer_message


async def stored_count(store: Store) -> int:
    return await store.run_sync(lambda c: c.execute("SELECT count(*) FROM messages").fetchone()[0])


async def test_a_signed_message_is_committed_before_the_202(live_api, store: Store) -> None:
    live = await live_api()
    status, answer = await live.post(customer_message())
    assert (status, answer) == (202, {"status": "accepted", "id": "msg-1"})
    # No waiting: the 202 promises the message is already stored.
    [conversation_id] = await store.conversation_ids(View("open"))
    conversation = await store.conversation(conversation_id)
    [message] = conversation.messages
    assert (message.body, message.author, message.external_id, message.direction) == (
        "Hi! My order #1234 never arrived.",
        "Ada Lovelace",
        "msg-1",
        "in",
    )
    assert conversation.row.channel == "site" and conversation.row.channel_kind == "chat"
    identities = {(i.namespace, i.address) for i in conversation.contact.identities}
    assert identities == {("api:site", "visitor-7")}
    # Without "email_verified": true the address is only claimed.
    claims = {(i.namespace, i.address) for i in conversation.contact.claims}
    assert claims == {("email", "ada@example.com")}


async def test_repeats_are_accepted_and_stored_once_and_a_conversation_continues(
    live_api, store: Store
) -> None:
    live = await live_api()
    assert (await live.post(customer_message()))[0] == 202
    assert (await live.post(customer_message()))[0] == 202  # the sender retried
    follow_up = customer_message(id="msg-2", text="Any news?", sent_at=1_795_165_500)
    assert (await live.post(follow_up))[0] == 202
    assert await stored_count(store) == 2
    [conversation_id] = await store.conversation_ids(View("open"))
    bodies = [m.body for m in (await store.conversation(conversation_id)).messages]
    assert bodies == ["Hi! My order #1234 never arrived.", "Any news?"]


async def test_a_verified_email_merges_with_the_mail_contact(live_api, store: Store) -> None:
    await store.ingest("mail", [inbound("Invoice question", email="ADA@example.com")])
    live = await live_api()
    visitor = customer_message()
    visitor["author"]["email_verified"] = True
    assert (await live.post(visitor))[0] == 202
    conversations = await store.conversation_ids(View("open"))
    contacts = {(await store.conversation(c)).contact.id for c in conversations}
    assert len(conversations) == 2 and len(contacts) == 1


async def test_a_bad_or_missing_signature_is_401_and_stores_nothing(live_api, store: Store) -> None:
    live = await live_api()
    status, answer = await live.post(customer_message(), secret="wrong-key")
    assert status == 401 and "X-Signature" in answer["error"]
    status, _ = await live.post(customer_message(), signature="")
    assert status == 401
    body = json.dumps(customer_message()).encode()
    # A valid signature of a different body does not pass either.
    status, _ = await live.post(body, signature=sign(SECRET, body + b" "))
    assert status == 401
    assert await stored_count(store) == 0


async def test_oversized_malformed_and_wrong_type_bodies_get_clear_errors(
    live_api, store: Store
) -> None:
    live = await live_api(max_body=2048)
    status, answer = await live.post(customer_message(text="x" * 4096))
    assert status == 413 and "2048" in answer["error"]
    status, answer = await live.post(b'{"id": "m", "conversation": ')
    assert status == 400 and "not valid JSON" in answer["error"]
    status, answer = await live.post(customer_message(author="ada"))
    assert status == 400 and "author must be an object" in answer["error"]
    status, answer = await live.post({k: v for k, v in customer_message().items() if k != "id"})
    assert status == 400 and answer["error"] == "id must be a non-empty string"
    status, answer = await live.post(customer_message(sent_at="yesterday"))
    assert status == 400 and "ISO 8601" in answer["error"]
    status, answer = await live.post(customer_message(), content_type="text/plain")
    assert status == 415 and "application/json" in answer["error"]
    assert await stored_count(store) == 0


async def test_health_and_unknown_paths_answer_json(live_api) -> None:
    live = await live_api()
    async with live.http.get(f"{live.base}/health") as reply:
        assert reply.status == 200 and (await reply.json())["channel"] == "site"
    async with live.http.get(f"{live.base}/nope") as reply:
        assert reply.status == 404 and "error" in await reply.json()


async def _reply_state(store: Store, conversation_id: int, state: str, timeout: float = 10.0):
    async with asyncio.timeout(timeout):
        while True:
            message = (await store.conversation(conversation_id)).messages[-1]
            if message.state == state:
                return message
            await asyncio.sleep(0.05)


async def test_a_reply_reaches_the_callback_once_signed(live_api, store: Store, callback) -> None:
    live = await live_api()
    await live.post(customer_message())
    [conversation_id] = await store.conversation_ids(View("open"))
    await store.queue_reply(conversation_id, "Sorry about that, it ships today.")
    live.runner.nudge("site")
    await callback.wait_for(1)
    sent = await _reply_state(store, conversation_id, "sent")
    headers, body = callback.received[0]
    assert signature_matches(SECRET, body, headers["X-Signature"])
    payload = json.loads(body)
    assert payload["conversation"] == "chat-42" and payload["in_reply_to"] == "msg-1"
    assert payload["text"] == "Sorry about that, it ships today."
    assert payload["author"] == {"name": "alice"} and payload["sent_at"].endswith("Z")
    assert headers["Idempotency-Key"] == payload["id"] == sent.external_id
    # Sent once: the outbox counted one attempt, and a sent reply is never due again.
    assert sent.attempts == 1 and len(callback.received) == 1
    assert await store.claim_due_replies("site") == []


async def test_a_retried_reply_carries_the_same_id(live_api, store: Store, callback) -> None:
    callback.script = [(503, {"Retry-After": "1"})]
    live = await live_api()
    await live.post(customer_message())
    [conversation_id] = await store.conversation_ids(View("open"))
    await store.queue_reply(conversation_id, "On it.")
    live.runner.nudge("site")
    await callback.wait_for(1)
    pending = await _reply_state(store, conversation_id, "queued")
    assert "answered 503" in pending.error
    await callback.wait_for(2)
    await _reply_state(store, conversation_id, "sent")
    first, second = (json.loads(body) for _, body in callback.received)
    assert first["id"] == second["id"] and first["text"] == second["text"] == "On it."
    assert all(signature_matches(SECRET, body, h["X-Signature"]) for h, body in callback.received)


async def test_a_rejected_reply_fails_with_the_reason(live_api, store: Store, callback) -> None:
    callback.script = [(400, {})]
    live = await live_api()
    await live.post(customer_message())
    [conversation_id] = await store.conversation_ids(View("open"))
    await store.queue_reply(conversation_id, "Hello")
    live.runner.nudge("site")
    failed = await _reply_state(store, conversation_id, "failed")
    assert "answered 400" in failed.error and len(callback.received) == 1


async def test_the_endpoint_stops_with_the_runner(live_api, store: Store) -> None:
    live = await live_api()
    await live.runner.stop()
    assert not live.plugin.endpoint.running
    try:
        async with live.http.get(f"{live.base}/health") as reply:
            status = reply.status
    except aiohttp.ClientConnectionError:
        status = None
    assert status is None


def test_helpers() -> None:
    assert parse_listen("127.0.0.1:8088", "[x]") == ("127.0.0.1", 8088)
    assert parse_listen("[::1]:9000", "[x]") == ("::1", 9000)
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({}) is None
    assert signature_matches("k", b"body", sign("k", b"body").upper().replace("SHA256", "sha256"))
    assert not signature_matches("k", b"body", "sha256=zz")
    assert Identity("api:site", "x").namespace == "api:site"


async def test_concurrent_messages_are_all_committed(live_api, store: Store) -> None:
    live = await live_api()
    answers = await asyncio.gather(
        *(
            live.post(customer_message(id=f"burst-{n}", conversation=f"chat-{n % 7}"))
            for n in range(60)
        )
    )
    assert {status for status, _ in answers} == {202}
    assert await stored_count(store) == 60
    assert len(await store.conversation_ids(View("open"))) == 7


async def test_a_busy_port_is_reported_with_the_key_to_change(store: Store, callback) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = SyncRunner(
            store,
            api_config(callback.url, listen=f"127.0.0.1:{port}"),
            plugin_classes={"api": ApiChannel},
        )
        [error] = (await runner.run_once()).values()
        await runner.stop()
    assert error.startswith(f"cannot listen on 127.0.0.1:{port}")
    assert error.endswith("Change listen in [channels.site]")
