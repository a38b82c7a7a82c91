"""The Matrix channel against a real Synapse: the customer talks through the real
client-server API, the agent side runs through the real SyncRunner and a temp Store."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentconsole import config as config_module
from agentconsole.models import View
from agentconsole.store import Store
from agentconsole.sync import SyncRunner, outbound_message
from agentconsole_matrix.events import ENCRYPTED_NOTE, KEY_FIELD
from tests.integration.matrix.synapse import Account, MatrixUser, Synapse

pytestmark = pytest.mark.integration


def matrix_config(
    synapse: Synapse,
    agent: Account,
    monkeypatch: pytest.MonkeyPatch,
    *,
    login: str = "token",
    **extra: Any,
) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "type": "matrix",
        "homeserver": synapse.url,
        "user_id": agent.user_id,
        "auto_join": True,
        **extra,
    }
    if login == "token":
        monkeypatch.setenv("MATRIX_TEST_TOKEN", agent.access_token)
        channel["access_token_env"] = "MATRIX_TEST_TOKEN"
    else:
        monkeypatch.setenv("MATRIX_TEST_PASSWORD", agent.password)
        channel["password_env"] = "MATRIX_TEST_PASSWORD"
    return {
        "agent": {"name": "alice", "display_name": "Alice"},
        "sync": {"lease_seconds": 30, "retry_max_seconds": 1},
        "channels": {"mx": channel},
    }


def runner_for(store: Store, data: dict[str, Any]) -> SyncRunner:
    return SyncRunner(store, config_module.parse(data, "test.toml"))


async def open_conversations(store: Store) -> dict[str, int]:
    """thread_key (room id) → conversation id."""
    ids = await store.conversation_ids(View("open"))
    keys = await store.run_sync(
        lambda c: dict(c.execute("SELECT id, thread_key FROM conversations"))
    )
    return {keys[i]: i for i in ids}


async def sync_until(runner: SyncRunner, condition, attempts: int = 20) -> None:  # noqa: ANN001
    for _ in range(attempts):
        results = await runner.run_once()
        assert all(error is None for error in results.values()), results
        if await condition():
            return
    raise AssertionError("condition not met after syncing")


async def start_chat(
    customer: MatrixUser, runner: SyncRunner, store: Store, agent: Account, text: str
) -> tuple[str, str, int]:
    """The customer opens a room with the agent and writes; the channel joins and ingests.
    Returns (room id, the customer's event id, conversation id)."""
    assert await runner.run_once() == {"mx": None}  # first sync: nothing yet
    room = await customer.create_room(invite=[agent.user_id], is_direct=True)
    event_id = await customer.send(room, text)

    async def arrived() -> bool:
        return room in await open_conversations(store)

    await sync_until(runner, arrived)
    return room, event_id, (await open_conversations(store))[room]


async def test_a_message_reaches_the_queue_and_the_reply_reaches_the_room_once(
    store: Store,
    synapse: Synapse,
    agent_account: Account,
    customer: MatrixUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = runner_for(store, matrix_config(synapse, agent_account, monkeypatch, login="password"))
    try:
        room, event_id, conversation = await start_chat(
            customer, runner, store, agent_account, "Hi, my invoice is wrong"
        )
        detail = await store.conversation(conversation)
        [message] = detail.messages
        assert (message.body, message.external_id, message.direction) == (
            "Hi, my invoice is wrong",
            event_id,
            "in",
        )
        assert message.url and room.replace("!", "%21") in message.url
        identities = await store.identities_of([detail.row.contact_id])
        assert [(i.namespace, i.address) for i in identities[detail.row.contact_id]] == [
            ("matrix", customer.user_id)
        ]

        reply_id = await store.queue_reply(conversation, "Sorry about that, fixed!")
        await runner.run_once()
        timeline = [e for e in await customer.messages(room) if e["type"] == "m.room.message"]
        replies = [e for e in timeline if e["sender"] == agent_account.user_id]
        assert len(replies) == 1
        assert replies[0]["content"]["body"] == "Sorry about that, fixed!"
        assert replies[0]["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": event_id}}
        sent = (await store.conversation(conversation)).messages[-1]
        assert (sent.id, sent.state, sent.external_id) == (reply_id, "sent", replies[0]["event_id"])
        # The reply comes back through /sync: recognised, not stored a second time.
        await runner.run_once()
        assert len((await store.conversation(conversation)).messages) == 2
    finally:
        await runner.stop()


async def test_a_retried_send_after_a_crash_posts_once(
    store: Store,
    synapse: Synapse,
    agent_account: Account,
    customer: MatrixUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = runner_for(store, matrix_config(synapse, agent_account, monkeypatch))
    try:
        room, _, conversation = await start_chat(customer, runner, store, agent_account, "hello?")
        await store.queue_reply(conversation, "Here to help")
        # A process claims the reply, the PUT reaches Synapse, and it dies before mark_sent.
        [claimed] = await store.claim_due_replies("mx")
        plugin = await runner.plugin("mx")
        first = await plugin.send(outbound_message(claimed))
        # The same transaction again (a retry that skipped find_sent) is deduplicated too.
        assert (await plugin.send(outbound_message(claimed))).external_id == first.external_id
        await store.run_sync(lambda c: c.execute("UPDATE outbox SET next_attempt_at = 0"))
        await runner.run_once()  # the retry: find_sent finds it, nothing is posted
        replies = [
            e
            for e in await customer.messages(room)
            if e["type"] == "m.room.message" and e["sender"] == agent_account.user_id
        ]
        assert len(replies) == 1 and replies[0]["content"][KEY_FIELD] == claimed.idempotency_key
        sent = (await store.conversation(conversation)).messages[-1]
        assert (sent.state, sent.external_id) == ("sent", first.external_id)
    finally:
        await runner.stop()


async def test_a_reply_from_the_cli_reaches_the_room_once(
    tmp_path: Path,
    synapse: Synapse,
    agent_account: Account,
    customer: MatrixUser,
) -> None:
    store_path = tmp_path / "cli.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'store = "{store_path}"\n[agent]\nname = "alice"\n[sync]\nretry_max_seconds = 1\n'
        f'[channels.mx]\ntype = "matrix"\nhomeserver = "{synapse.url}"\n'
        f'user_id = "{agent_account.user_id}"\nauto_join = true\naccess_token_env = "MX_TOKEN"\n'
    )
    env = {**os.environ, "MX_TOKEN": agent_account.access_token, "AGENTCONSOLE_CONFIG": str(config)}

    def cli(*args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [sys.executable, "-m", "agentconsole.cli", "--json", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("sync", "--once")
    room = await customer.create_room(invite=[agent_account.user_id])
    await customer.send(room, "Is anyone there?")
    for _ in range(10):
        cli("sync", "--once")
        listed = [json.loads(line) for line in cli("list").splitlines()]
        if listed:
            break
    [conversation] = listed
    cli("reply", str(conversation["id"]), stdin="Yes, Alice here.")
    cli("sync", "--once")
    cli("sync", "--once")
    replies = [
        e
        for e in await customer.messages(room)
        if e["type"] == "m.room.message" and e["sender"] == agent_account.user_id
    ]
    assert [e["content"]["body"] for e in replies] == ["Yes, Alice here."]


async def test_invites_wait_without_auto_join_and_are_accepted_with_it(
    store: Store,
    synapse: Synapse,
    agent_account: Account,
    customer: MatrixUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = matrix_config(synapse, agent_account, monkeypatch, auto_join=False)
    runner = runner_for(store, data)
    await runner.run_once()
    room = await customer.create_room(invite=[agent_account.user_id], name="Billing help")
    await runner.run_once()
    [conversation] = (await open_conversations(store)).values()
    [note] = (await store.conversation(conversation)).messages
    assert "auto_join is off" in (note.parse_note or "") and customer.user_id in note.body
    await runner.stop()

    data["channels"]["mx"]["auto_join"] = True
    runner = runner_for(store, data)
    try:
        await runner.run_once()  # a fresh process: initial sync sees the invite and joins
        await customer.send(room, "Can I pay by bank transfer?")

        async def arrived() -> bool:
            messages = (await store.conversation(conversation)).messages
            return any(m.body == "Can I pay by bank transfer?" for m in messages)

        await sync_until(runner, arrived)
        members = await customer.call("GET", f"/rooms/{room}/joined_members")
        assert agent_account.user_id in members["joined"]
    finally:
        await runner.stop()


async def test_encrypted_events_are_shown_with_the_reason(
    store: Store,
    synapse: Synapse,
    agent_account: Account,
    customer: MatrixUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = runner_for(store, matrix_config(synapse, agent_account, monkeypatch))
    try:
        await runner.run_once()
        room = await customer.create_room(invite=[agent_account.user_id], encrypted=True)
        await customer.send(
            room,
            {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
                "device_id": "CUSTOMERDEV",
                "sender_key": "IlRMeOPX2e0MurIyfWEucYBRVOEEUMrOHqn/8mLqMjA",
                "session_id": "X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ",
            },
            event_type="m.room.encrypted",
        )

        async def arrived() -> bool:
            return room in await open_conversations(store)

        await sync_until(runner, arrived)
        [message] = (await store.conversation((await open_conversations(store))[room])).messages
        assert message.parse_note == ENCRYPTED_NOTE and "encrypted" in message.body
    finally:
        await runner.stop()


async def test_a_limited_sync_gap_is_back_filled(
    store: Store,
    synapse: Synapse,
    agent_account: Account,
    customer: MatrixUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = runner_for(store, matrix_config(synapse, agent_account, monkeypatch))
    try:
        room, _, conversation = await start_chat(customer, runner, store, agent_account, "first")
        plugin = await runner.plugin("mx")
        plugin.timeline_limit = 3  # type: ignore[attr-defined]
        sent = [f"line {n}" for n in range(12)]
        for text in sent:
            await customer.send(room, text)
        await runner.run_once()
        bodies = [m.body for m in (await store.conversation(conversation)).messages]
        assert bodies == ["first", *sent], "every message of the gap, in order"
    finally:
        await runner.stop()


async def test_files_become_attachments_within_the_size_cap(
    store: Store,
    synapse: Synapse,
    agent_account: Account,
    customer: MatrixUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = runner_for(
        store, matrix_config(synapse, agent_account, monkeypatch, max_attachment_bytes=1000)
    )
    try:
        room, _, conversation = await start_chat(customer, runner, store, agent_account, "logs:")
        small = b"ERROR at line 3\n" * 10
        uri = await customer.upload(small, "text/plain", "app.log")
        await customer.send(
            room,
            {
                "msgtype": "m.file",
                "body": "app.log",
                "url": uri,
                "info": {"mimetype": "text/plain", "size": len(small)},
            },
        )
        big = b"\x89PNG" + b"x" * 5000
        uri = await customer.upload(big, "image/png", "screen.png")
        await customer.send(
            room,
            {
                "msgtype": "m.image",
                "body": "screen.png",
                "url": uri,
                "info": {"mimetype": "image/png"},
            },
        )  # size not announced

        async def both() -> bool:
            return len((await store.conversation(conversation)).messages) == 3

        await sync_until(runner, both)
        _, log_message, image = (await store.conversation(conversation)).messages
        [attachment] = log_message.attachments
        assert (attachment.filename, attachment.size) == ("app.log", len(small))
        assert (await store.attachment(attachment.id))[1] == small
        assert image.attachments == () and "max_attachment_bytes" in (image.parse_note or "")
    finally:
        await runner.stop()


async def test_the_live_runner_long_polls_and_delivers_at_once(
    store: Store,
    synapse: Synapse,
    agent_account: Account,
    customer: MatrixUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = await customer.create_room(invite=[agent_account.user_id])
    await customer.send(room, "opening line")
    runner = runner_for(store, matrix_config(synapse, agent_account, monkeypatch))
    await runner.start()
    try:

        async def wait_for(condition, seconds: float = 10.0) -> float:  # noqa: ANN001
            start = time.monotonic()
            while not await condition():
                assert time.monotonic() - start < seconds, "not within the time allowed"
                await asyncio.sleep(0.05)
            return time.monotonic() - start

        async def bodies() -> list[str]:
            conversations = await open_conversations(store)
            if room not in conversations:
                return []
            return [m.body for m in (await store.conversation(conversations[room])).messages]

        await wait_for(lambda: _contains(bodies, "opening line"))
        await asyncio.sleep(0.3)  # the runner is now inside its /sync long poll
        await customer.send(room, "are you there?")
        # The long poll returns as soon as the event exists: well under the 30 s poll.
        assert await wait_for(lambda: _contains(bodies, "are you there?")) < 5
    finally:
        await runner.stop()


async def _contains(bodies, text: str) -> bool:  # noqa: ANN001
    return text in await bodies()


async def test_a_password_login_reuses_its_device_across_restarts(
    synapse: Synapse, agent_account: Account, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = matrix_config(synapse, agent_account, monkeypatch, login="password")
    for _ in range(2):  # two processes, one after the other
        runner = runner_for(store, data)
        assert (await runner.run_once())["mx"] is None
        await runner.stop()
    device_file = store.channel_data_dir("mx") / "device_id"
    device_id = device_file.read_text().strip()
    agent = MatrixUser(synapse, agent_account)
    try:
        devices = [d["device_id"] for d in (await agent.call("GET", "/devices"))["devices"]]
    finally:
        await agent.close()
    # The registration's own device, plus exactly one for agentconsole (not one per start).
    assert devices.count(device_id) == 1 and len(devices) == 2
