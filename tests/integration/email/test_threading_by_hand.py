"""Split a mail conversation, answer from the part split off, and the customer's answers —
fetched from a real Dovecot, our reply sent through a real SMTP server — land where the
agent put the thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default

import pytest

from agentconsole.query import parse
from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_email import EmailChannel
from tests.channels.email.helpers import mail
from tests.integration.conftest import ImapUser, SmtpServer
from tests.integration.email.test_imap_smtp import make_config, options

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
async def runner(
    imap_user: ImapUser, smtp_server: SmtpServer, store: Store
) -> AsyncIterator[SyncRunner]:
    made = SyncRunner(
        store,
        make_config(options(imap_user, smtp_server)),
        plugin_classes={"email": EmailChannel},
    )
    try:
        yield made
    finally:
        await made.stop()


def answer(message_id: str, parents: list[str], minutes: int, body: str) -> bytes:
    references = " ".join(parents)
    return mail(
        "Re: Two problems",
        body,
        message_id=message_id,
        headers=f"In-Reply-To: {parents[-1]}\r\nReferences: {references}",
        date=START + timedelta(minutes=minutes),
    )


async def test_answers_to_a_split_off_part_land_in_the_new_conversation(
    imap_user: ImapUser, smtp_server: SmtpServer, store: Store, runner: SyncRunner
) -> None:
    ids = ["<p1@example.org>", "<p2@example.org>", "<p3@example.org>"]
    imap_user.append(mail("Two problems", "My router is broken.", message_id=ids[0], date=START))
    imap_user.append(answer(ids[1], ids[:1], 10, "Also: my invoice is wrong."))
    imap_user.append(answer(ids[2], ids[:2], 20, "The invoice shows 3 months."))
    assert await runner.run_once() == {"mail": None}
    [conversation] = [row.id for row in await store.find(parse("status:any"))]
    messages = (await store.conversation(conversation)).messages
    assert [m.thread_reason for m in messages] == ["first", "references", "references"]

    change = await store.split_conversation(messages[1].id)
    invoice = change.target_id
    await store.queue_reply(invoice, "We will correct the invoice today.")
    assert await runner.run_once() == {"mail": None}
    (received,) = smtp_server.wait_for(1)
    sent = message_from_bytes(received.data, policy=default)
    assert sent["Subject"] == f"Re: Two problems [#{invoice}]"

    # She answers our reply, and separately the router part: each goes where it belongs.
    imap_user.append(answer("<p4@example.org>", [*ids, sent["Message-ID"]], 40, "Thanks!"))
    imap_user.append(answer("<p5@example.org>", ids[:1], 50, "Router still blinks."))
    assert await runner.run_once() == {"mail": None}
    new = await store.conversation(invoice)
    [thanks] = [m for m in new.messages if m.external_id == "<p4@example.org>"]
    assert (thanks.thread_reason, thanks.thread_reason_detail) == (
        "references",
        sent["Message-ID"],
    )
    original = await store.conversation(conversation)
    assert [m.external_id for m in original.messages] == [ids[0], "<p5@example.org>"]
    assert original.row.message_count == 2 and new.row.message_count == 4
