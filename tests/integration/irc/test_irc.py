"""The IRC channel against a real ngircd: conversations per nick, replies, splitting,
nick collisions and reconnecting after a server restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentconsole import config as config_module
from agentconsole.models import View
from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_irc.protocol import MAX_LINE_BYTES
from tests.integration.irc.conftest import start_ngircd
from tests.integration.irc.ircd import IrcClient, Ngircd, self_signed_certificate

pytestmark = pytest.mark.integration


def irc_config(port: int, **extra: object) -> config_module.Config:
    channel = {
        "type": "irc",
        "server": "127.0.0.1",
        "port": port,
        "tls": False,
        "nick": "agent",
        "channels": ["#support"],
        **extra,
    }
    data = {
        "agent": {"name": "alice"},
        "sync": {"lease_seconds": 30, "retry_max_seconds": 1},
        "channels": {"irc": channel},
    }
    return config_module.parse(data, "test.toml")


async def conversations(store: Store) -> dict[str, int]:
    """thread_key → conversation id, of every open conversation."""
    rows = await store.conversation_rows(await store.conversation_ids(View("open")))
    keys = await store.run_sync(
        lambda c: dict(c.execute("SELECT id, thread_key FROM conversations"))
    )
    return {keys[row_id]: row_id for row_id in rows}


async def sync_until(runner: SyncRunner, store: Store, condition, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        results = await runner.run_once()
        if await condition():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met after {timeout}s; sync said {results}")
        await asyncio.sleep(0.1)


@pytest.fixture
async def runner(store: Store, ngircd: Ngircd):  # noqa: ANN201
    runner = SyncRunner(store, irc_config(ngircd.port))
    assert await runner.run_once() == {"irc": None}  # connects and joins
    try:
        yield runner
    finally:
        await runner.stop()


async def test_channel_and_private_messages_become_conversations_per_nick(
    store: Store, runner: SyncRunner, customer: IrcClient
) -> None:
    customer.send("PRIVMSG #support :hi, my order #123 never arrived")
    customer.send("PRIVMSG agent :also, can I change my address?")
    customer.send("PRIVMSG #support :\x01ACTION waves\x01")

    async def both() -> bool:
        return {"#support/customer", "pm/customer"} <= set(await conversations(store))

    await sync_until(runner, store, both)
    found = await conversations(store)
    channel = await store.conversation(found["#support/customer"])
    assert [m.body for m in channel.messages] == [
        "hi, my order #123 never arrived",
        "* Customer waves",
    ]
    assert channel.messages[0].author == "Customer"
    private = await store.conversation(found["pm/customer"])
    assert [m.body for m in private.messages] == ["also, can I change my address?"]
    # One contact: the same nick on the same network.
    assert channel.row.contact_id == private.row.contact_id
    # Nothing doubled by fetching again.
    await runner.run_once()
    count = await store.run_sync(lambda c: c.execute("SELECT count(*) FROM messages").fetchone()[0])
    assert count == 3


async def test_replies_reach_the_customer_in_the_channel_and_in_private(
    store: Store, runner: SyncRunner, customer: IrcClient
) -> None:
    customer.send("PRIVMSG #support :the app crashes on start")
    customer.send("PRIVMSG agent :psst, private question")

    async def both() -> bool:
        return len(await conversations(store)) == 2

    await sync_until(runner, store, both)
    found = await conversations(store)
    await store.queue_reply(found["#support/customer"], "Which version do you run?")
    await store.queue_reply(found["pm/customer"], "Sure, ask away.")
    start = len(customer.lines)
    await runner.run_once()
    in_channel = await customer.wait_for(
        lambda line: line.command == "PRIVMSG" and line.params[0] == "#support", start=start
    )
    assert in_channel.params[1] == "Customer: Which version do you run?"
    assert in_channel.nick == "agent"
    private = await customer.wait_for(
        lambda line: line.command == "PRIVMSG" and line.params[0] == "Customer", start=start
    )
    assert private.params[1] == "Sure, ask away."
    for conversation in found.values():
        last = (await store.conversation(conversation)).messages[-1]
        assert last.state == "sent"


async def test_a_long_reply_is_split_at_the_line_limit_between_words(
    store: Store, runner: SyncRunner, customer: IrcClient
) -> None:
    customer.send("PRIVMSG #support :please send the full instructions")

    async def one() -> bool:
        return len(await conversations(store)) == 1

    await sync_until(runner, store, one)
    [conversation] = (await conversations(store)).values()
    words = [f"step{n}:naïve-café-ünïcode" for n in range(60)]
    await store.queue_reply(conversation, " ".join(words))
    start = len(customer.lines)
    await runner.run_once()
    await customer.wait_for(lambda line: "step59" in " ".join(line.params), start=start)
    received = [(line, raw) for line, raw in customer.lines[start:] if line.command == "PRIVMSG"]
    assert len(received) >= 3
    for line, raw in received:
        assert len(raw) <= MAX_LINE_BYTES, "each relayed line fits in 512 bytes"
        assert line.params[1].startswith("Customer: ")
    text = " ".join(line.params[1].removeprefix("Customer: ") for line, _ in received)
    assert text.split() == words, "split between words, nothing lost, UTF-8 intact"


async def test_a_taken_nick_gets_an_underscore(
    store: Store, ngircd: Ngircd, customer: IrcClient
) -> None:
    squatter = IrcClient("127.0.0.1", ngircd.port)
    await squatter.register("agent")
    runner = SyncRunner(store, irc_config(ngircd.port))
    try:
        assert await runner.run_once() == {"irc": None}
        customer.send("WHOIS agent_")
        await customer.wait_for(lambda line: line.command == "311" and line.params[1] == "agent_")
        customer.send("PRIVMSG agent_ :are you the support bot?")
        await sync_until(runner, store, lambda: _has_conversation(store, "pm/customer"))
    finally:
        await runner.stop()
        await squatter.close()


async def _has_conversation(store: Store, key: str) -> bool:
    return key in await conversations(store)


async def test_reconnects_after_a_server_restart(store: Store, ngircd: Ngircd) -> None:
    runner = SyncRunner(store, irc_config(ngircd.port))
    await runner.start()  # the live loops: fetch errors are retried with (1 s max) backoff
    customer = IrcClient("127.0.0.1", ngircd.port)
    try:
        await asyncio.sleep(0.5)
        ngircd.restart()
        await asyncio.sleep(0.3)
        await customer.register("Customer")
        # The agent is back on the new server within the backoff.
        for _ in range(40):
            start = len(customer.lines)
            customer.send("WHOIS agent")
            await customer.wait_for(lambda line: line.command == "318", start=start)
            if any(line.command == "311" for line, _ in customer.lines[start:]):
                break
            await asyncio.sleep(0.25)  # ngircd throttles a client that sends too fast
        else:
            raise AssertionError("the channel did not reconnect")
        await customer.join("#support")
        customer.send("PRIVMSG #support :hello after the restart")
        for _ in range(100):
            if "#support/customer" in await conversations(store):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the message after the restart was not ingested")
    finally:
        await customer.close()
        await runner.stop()


async def test_server_password_and_a_clear_error_when_it_is_wrong(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_ngircd(tmp_path / "locked", password="opensesame")
    try:
        monkeypatch.setenv("IRC_TEST_PASSWORD", "wrong")
        runner = SyncRunner(store, irc_config(server.port, password_env="IRC_TEST_PASSWORD"))
        [error] = (await runner.run_once()).values()
        assert error is not None and "password" in error and "password_command" in error
        await runner.stop()
        monkeypatch.setenv("IRC_TEST_PASSWORD", "opensesame")
        runner = SyncRunner(store, irc_config(server.port, password_env="IRC_TEST_PASSWORD"))
        assert await runner.run_once() == {"irc": None}
        await runner.stop()
    finally:
        server.stop()


async def test_a_reply_to_a_customer_who_left_fails_with_the_reason(
    store: Store, runner: SyncRunner, customer: IrcClient
) -> None:
    customer.send("PRIVMSG agent :quick question")
    await sync_until(runner, store, lambda: _has_conversation(store, "pm/customer"))
    await customer.close()
    await asyncio.sleep(0.2)
    conversation = (await conversations(store))["pm/customer"]
    await store.queue_reply(conversation, "here is the answer")
    await runner.run_once()
    last = (await store.conversation(conversation)).messages[-1]
    assert last.state == "failed" and "no such nick" in (last.error or "")


async def test_tls_with_a_checked_certificate_and_a_clear_refusal_of_an_unknown_one(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate, key = self_signed_certificate(tmp_path / "tls")
    server = start_ngircd(tmp_path / "tls-server", tls=(certificate, key))
    try:
        runner = SyncRunner(store, irc_config(server.tls_port, tls=True))
        [error] = (await runner.run_once()).values()
        assert error is not None and "certificate" in error and "tls_verify" in error
        await runner.stop()
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # trust it, as a CA would be
        runner = SyncRunner(store, irc_config(server.tls_port, tls=True))
        assert await runner.run_once() == {"irc": None}
        customer = IrcClient("127.0.0.1", server.port)
        await customer.register("Customer")
        customer.send("PRIVMSG agent :hello over TLS")
        try:
            await sync_until(runner, store, lambda: _has_conversation(store, "pm/customer"))
        finally:
            await customer.close()
            await runner.stop()
    finally:
        server.stop()


async def test_a_line_with_an_encoded_surrogate_is_stored_with_a_note_and_its_bytes(
    store: Store, runner: SyncRunner, customer: IrcClient
) -> None:
    """A client sending a UTF-16 surrogate encoded as if it were UTF-8 (``ED A0 80``, as some
    Java and Windows clients do) and other bytes that are not UTF-8: the line is stored,
    readable, with a note, and its bytes kept exactly."""
    line = b"PRIVMSG #support :caf\xed\xa0\x80 order \xff late"
    customer.send_bytes(line)

    async def arrived() -> bool:
        return "#support/customer" in await conversations(store)

    await sync_until(runner, store, arrived)
    [message] = (
        await store.conversation((await conversations(store))["#support/customer"])
    ).messages
    assert "order" in message.body and "late" in message.body
    assert message.parse_note is not None and "not valid UTF-8" in message.parse_note
    raw = await store.raw_message(message.id)
    assert raw is not None and line in raw
