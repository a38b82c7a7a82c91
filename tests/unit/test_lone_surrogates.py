"""Lone surrogates (``"\\ud800"``: valid JSON, made by UTF-7 and by ``surrogateescape``, but
not text either store can encode) are neutralised once, where the store takes a message in:
the message is stored and shown with U+FFFD and a note, its original kept exactly, and
messages or people that differ only in them stay apart. Runs on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentconsole.errors import UsageError
from agentconsole.plugin import Attachment, Identity
from agentconsole.store import Store
from tests.channels.email.helpers import SUPPORT, UTF7_MAIL, make_maildir
from tests.conftest import inbound

BODY = "Order 12 \ud800 arrived broken \udcc3"


async def test_a_message_with_lone_surrogates_is_stored_shown_and_kept_exactly(
    store: Store,
) -> None:
    message = inbound(
        BODY,
        external_id="evt-\udfff",
        name="Bob \udc80",
        identities=(Identity("matrix", "@bob\ud801:example.org"),),
        subject="Broken \ud800",
        thread_key="!room\ud800:example.org",
        attachments=(Attachment("photo\udcff.jpg", "image/jpeg", b"\xff\xd8jpeg"),),
    )
    report = await store.ingest("chat", [message])
    assert report.stored == 1
    detail = await store.conversation(report.created[0])
    [stored] = detail.messages
    assert stored.body == "Order 12 \ufffd arrived broken \ufffd"
    assert (stored.subject, stored.author) == ("Broken \ufffd", "Bob \ufffd")
    assert stored.external_id == "evt-\\udfff"
    assert stored.attachments[0].filename == "photo\ufffd.jpg"
    assert stored.parse_note is not None
    assert stored.parse_note.startswith(
        "8 characters that are not text (lone UTF-16 surrogates) replaced in the id,"
        " author's name, author's address, subject, body, thread key, attachment names"
    )
    assert "the original is kept" in stored.parse_note
    identities = await store.identities_of([detail.row.contact_id])
    assert [i.address for i in identities[detail.row.contact_id]] == ["@bob\\ud801:example.org"]
    # Nothing is lost: the original fields read back exactly from the kept original.
    raw = await store.raw_message(stored.id)
    assert raw is not None
    original = json.loads(raw)
    assert original["body"] == BODY and original["subject"] == "Broken \ud800"
    assert original["author"]["name"] == "Bob \udc80"
    # Found by search, like any message.
    assert [hit.message_id for hit in await store.search("arrived broken")] == [stored.id]

    # The same message again is a redelivery; one differing only in a surrogate is not.
    again = await store.ingest("chat", [message])
    assert (again.stored, again.duplicates) == (0, 1)
    other = await store.ingest(
        "chat", [inbound(BODY.replace("\ud800", "\ud9ff"), **_same(message))]
    )
    assert other.stored == 1


def _same(message):  # noqa: ANN001, ANN202
    return {
        "external_id": message.external_id,
        "name": message.author.name,
        "identities": message.author.identities,
        "subject": message.subject,
        "thread_key": message.thread_key,
        "attachments": message.attachments,
    }


async def test_people_who_differ_only_in_a_lone_surrogate_stay_two_contacts(
    store: Store,
) -> None:
    first = await store.ingest(
        "chat", [inbound("hi", identities=(Identity("irc:net", "bob\ud800"),), thread_key="a")]
    )
    second = await store.ingest(
        "chat", [inbound("hi", identities=(Identity("irc:net", "bob\ud801"),), thread_key="b")]
    )
    one = (await store.conversation(first.created[0])).row.contact_id
    two = (await store.conversation(second.created[0])).row.contact_id
    assert one != two


async def test_a_plugins_raw_bytes_are_kept_as_they_are(store: Store) -> None:
    raw = b'{"body": "x \\ud800"}'
    report = await store.ingest("chat", [inbound("x \ud800", raw=raw)])
    [stored] = (await store.conversation(report.created[0])).messages
    assert await store.raw_message(stored.id) == raw
    assert stored.body == "x \ufffd"


Cli = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def cli(tmp_path: Path, store_location: str | Path) -> Cli:
    """``agentconsole ARGS`` as a process on the test's store, with one Maildir channel
    (support); ``data`` on its standard input, ``env`` over the environment."""
    root = make_maildir(tmp_path / "Maildir")
    config = tmp_path / "config.toml"
    config.write_text(
        '[agent]\nname = "alice"\n\n[channels.support]\ntype = "email"\n'
        f'from_address = "{SUPPORT}"\nmaildir = "{root}"\n'
    )

    def run(
        *args: str, data: bytes = b"", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "agentconsole.cli", "--config", str(config)]
        command += ["--store", str(store_location), *args]
        environment = {**os.environ, **(env or {})}
        return subprocess.run(command, input=data, capture_output=True, timeout=60, env=environment)

    return run


def test_deliver_stores_a_mail_with_lone_surrogates_and_keeps_its_bytes(cli: Cli) -> None:
    delivered = cli("deliver", "--channel", "support", "--json", data=UTF7_MAIL)
    assert delivered.returncode == 0, delivered.stderr
    [conversation] = json.loads(delivered.stdout)["conversations"]
    again = cli("deliver", "--channel", "support", "--json", data=UTF7_MAIL)
    assert json.loads(again.stdout)["duplicates"] == 1

    shown = cli("show", str(conversation), "--json")
    assert shown.returncode == 0, shown.stderr
    [message] = json.loads(shown.stdout)["messages"]
    assert message["subject"] == "Invoice \ufffd"
    assert "Please refund \ufffd order 12." in message["body"]
    assert "lone UTF-16 surrogates" in message["parse_note"]
    assert [a["filename"] for a in message["attachments"]] == ["résumé.pdf"]
    raw = cli("raw", str(message["id"]))
    assert raw.returncode == 0 and raw.stdout == UTF7_MAIL


async def test_a_reply_a_note_or_a_draft_holding_a_lone_surrogate_is_refused_and_says_where(
    store: Store,
) -> None:
    report = await store.ingest("chat", [inbound("Where is my order?")])
    [conversation] = report.created
    written = "Hello,\nyour order \udcff left today."
    for write in (
        lambda: store.queue_reply(conversation, written),
        lambda: store.add_note(conversation, written),
        lambda: store.save_draft(conversation, "reply", written),
    ):
        with pytest.raises(UsageError, match="not text .*U\\+DCFF, line 2"):
            await write()
    detail = await store.conversation(conversation)
    assert [m.body for m in detail.messages] == ["Where is my order?"]
    assert await store.draft(conversation, "reply") is None


def test_a_reply_that_is_not_utf8_is_refused_with_where_and_nothing_is_queued(
    tmp_path: Path, cli: Cli
) -> None:
    mail = b"From: ada@example.com\r\nTo: " + SUPPORT.encode() + b"\r\nSubject: Hi\r\n\r\nHello\r\n"
    latin1 = tmp_path / "reply.txt"
    latin1.write_bytes("Merci,\nà bientôt\n".encode("latin-1"))
    delivered = cli("deliver", "--channel", "support", "--json", data=mail)
    [conversation] = json.loads(delivered.stdout)["conversations"]
    # The C locale: Python reads a pipe with surrogateescape, not strict UTF-8.
    c_locale = {"LC_ALL": "C", "PYTHONUTF8": "0"}
    for how in (("--body-file", str(latin1)), ()):
        data = b"" if how else latin1.read_bytes()
        refused = cli("reply", str(conversation), *how, data=data, env=c_locale)
        assert refused.returncode == 2, refused.stderr
        assert b"not UTF-8 (byte 0xe0 on line 2)" in refused.stderr
        assert b"Traceback" not in refused.stderr
    shown = json.loads(cli("show", str(conversation), "--json").stdout)
    assert [m["direction"] for m in shown["messages"]] == ["in"]
