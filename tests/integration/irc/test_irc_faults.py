"""IRC after a crash while sending, against a real ngircd: the delivery cannot be known
(IRC keeps nothing to check), so the reply is marked "unknown — check the channel" and
never said again blindly; the agent's explicit retry says it once."""

from __future__ import annotations

import pytest

from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from tests.integration.irc.ircd import IrcClient
from tests.integration.irc.test_irc import conversations, sync_until
from tests.integration.irc.test_irc import runner as runner  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def said(customer: IrcClient, text: str) -> int:
    return sum(1 for line, _ in customer.privmsgs() if line.params[-1] == text)


async def test_a_reply_unknown_after_a_crash_is_not_resent_until_the_agent_retries(
    store: Store,
    runner: SyncRunner,
    customer: IrcClient,  # noqa: F811
) -> None:
    customer.send("PRIVMSG agent :is my order shipped?")

    async def one() -> bool:
        return len(await conversations(store)) == 1

    await sync_until(runner, store, one)
    [conversation] = (await conversations(store)).values()
    reply = await store.queue_reply(conversation, "Yes, it left today.")
    # A process claimed the reply and was killed while saying it; the next one takes over.
    await store.claim_due_replies("irc")
    await store.run_sync(lambda c: c.execute("UPDATE outbox SET next_attempt_at = 0"))
    assert await runner.run_once() == {"irc": None}
    message = (await store.conversation(conversation)).messages[-1]
    assert message.state == "failed"
    assert message.error is not None and message.error.startswith("unknown — check the channel")
    # A later reply arrives; the unknown one was not said before it.
    await store.queue_reply(conversation, "Anything else?")
    start = len(customer.lines)
    await runner.run_once()
    await customer.wait_for(
        lambda line: line.command == "PRIVMSG" and line.params[-1] == "Anything else?",
        start=start,
    )
    assert said(customer, "Yes, it left today.") == 0
    await store.requeue_reply(reply)  # the agent checked: the customer never got it
    await runner.run_once()
    await customer.wait_for(
        lambda line: line.command == "PRIVMSG" and line.params[-1] == "Yes, it left today.",
        start=start,
    )
    assert said(customer, "Yes, it left today.") == 1
    assert (await store.conversation(conversation)).messages[-2].state == "sent"
