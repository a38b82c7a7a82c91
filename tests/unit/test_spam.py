"""Spam and blocking: a conversation marked spam leaves every queue view for Spam, its
sender is blocked on that channel (later mail goes straight to Spam, unanswered), "not
spam" restores both; the config's block and allow lists; trusted server spam headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentconsole.models import View
from agentconsole.query import parse
from agentconsole.store import Store
from tests.conftest import inbound
from tests.unit.test_cli import lines, run
from tests.unit.test_rules import rule_set

SPAM_MAIL = b"From: x@spam.example\r\nX-Spam-Flag: YES\r\nSubject: win\r\n\r\nyou won\r\n"


async def ids_of(store: Store, query: str) -> list[int]:
    return sorted(row.id for row in await store.find(parse(query)))


async def test_marking_spam_hides_it_and_blocks_the_sender_on_that_channel(
    store: Store, tmp_path: Path
) -> None:
    store.use_rules(rule_set(tmp_path, [{"name": "ack", "then": {"reply": "ack"}}]))
    spam = (
        await store.ingest("mail", [inbound("cheap pills", email="pills@spam.example")])
    ).touched[0]
    real = (await store.ingest("mail", [inbound("my invoice", email="ann@example.com")])).touched[0]
    assert await store.set_spam([spam]) == [spam]
    assert await ids_of(store, "status:any") == [real]
    assert await ids_of(store, "is:spam") == [spam]
    assert await store.conversation_ids(View("open")) == [real]
    assert await store.conversation_ids(View("spam")) == [spam]
    # Later mail from the sender goes straight to Spam, with no acknowledgement.
    again = (
        await store.ingest("mail", [inbound("more pills", email="pills@spam.example")])
    ).touched[0]
    assert await ids_of(store, "is:spam") == sorted({spam, again})
    detail = await store.conversation(again)
    assert [m.direction for m in detail.messages] == ["in"]
    # On another channel the same address is not blocked.
    chat = (
        await store.ingest("chat", [inbound("hi", email="pills@spam.example", thread_key="t")])
    ).touched[0]
    assert chat in await ids_of(store, "status:any")
    # Not spam: back in the queue, sender unblocked.
    assert await store.set_spam([spam], False) == [spam]
    assert spam in await ids_of(store, "status:any")
    later = (
        await store.ingest("mail", [inbound("real question", email="pills@spam.example")])
    ).touched[0]
    assert later not in await ids_of(store, "is:spam")
    actions = [e.action for e in await store.audit_log(spam)]
    assert "spam" in actions and "unspam" in actions


async def test_config_block_and_allow_lists_and_trusted_spam_headers(
    store: Store, tmp_path: Path
) -> None:
    store.use_rules(
        rule_set(
            tmp_path,
            [],
            spam={
                "block": ["@spam.example"],
                "allow": ["friend@spam.example"],
                "trust_spam_headers": True,
            },
        )
    )

    async def lands(**fields: Any) -> bool:
        conversation = (await store.ingest("mail", [inbound("hello", **fields)])).touched[0]
        return conversation in await ids_of(store, "is:spam")

    assert await lands(email="anyone@spam.example")
    assert not await lands(email="friend@spam.example")  # allowed wins
    assert await lands(email="x@elsewhere.example", raw=SPAM_MAIL)
    assert not await lands(email="y@elsewhere.example", raw=SPAM_MAIL.replace(b"YES", b"NO"))


async def test_a_rule_can_mark_spam(store: Store, tmp_path: Path) -> None:
    store.use_rules(rule_set(tmp_path, [{"name": "pills", "if": "pills", "then": {"spam": True}}]))
    conversation = (await store.ingest("mail", [inbound("pills!", email="p@x.example")])).touched[0]
    assert await ids_of(store, "is:spam") == [conversation]
    assert {e.agent for e in await store.audit_log(conversation) if e.action == "spam"} == {
        "rule 'pills'"
    }


async def test_spam_and_unspam_from_the_command_line(
    store: Store, store_location: str | Path
) -> None:
    conversation = (await store.ingest("mail", [inbound("pills", email="p@spam.example")])).touched[
        0
    ]
    await store.close()
    marked = run(store_location, "spam", str(conversation), "--json")
    assert lines(marked) == [{"id": conversation, "spam": True}]
    assert lines(run(store_location, "list", "--json")) == []
    [row] = lines(run(store_location, "list", "is:spam", "--json"))
    assert row["id"] == conversation
    twice = run(store_location, "spam", str(conversation))
    assert twice.returncode == 1 and "already so" in twice.stderr
    assert run(store_location, "unspam", "--query", "from:@spam.example").returncode == 0
    assert [r["id"] for r in lines(run(store_location, "list", "--json"))] == [conversation]
    missing = run(store_location, "spam", "999")
    assert missing.returncode == 3
