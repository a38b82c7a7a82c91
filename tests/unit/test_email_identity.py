"""Which mail is the same mail: the email plugin's content digest and synthetic ids, through
the real parser and the real store."""

from __future__ import annotations

import pytest

from agentconsole.store import Store
from agentconsole_email import identity
from agentconsole_email.parse import parse_message
from tests.channels.email.helpers import channel, deliver_to_maildir, mail, make_maildir

ORIGINAL = mail("Invoice 4411 is wrong", "Please correct the amount.", message_id="<inv@x.org>")

#: What servers on the way add: a hop, a signature, an ARC set, a spam verdict (folded),
#: the envelope — none of it is content.
TRANSIT = (
    b"Return-Path: <ada@example.org>\r\n"
    b"Delivered-To: support@acme.example\r\n"
    b"X-Original-To: support@acme.example\r\n"
    b"Received: from mx2.acme.example (mx2 [192.0.2.7])\r\n"
    b"\tby mx3.acme.example with ESMTPS id 4711; Tue, 3 Sep 2024 10:00:00 +0200\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1;\r\n"
    b"\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\r\n"
    b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=acme.example; s=arc; b=c2VhbA==\r\n"
    b"ARC-Authentication-Results: i=1; mx2.acme.example; dkim=pass\r\n"
    b"Authentication-Results: mx3.acme.example; spf=pass\r\n"
    b"X-Spam-Status: No, score=-0.1 required=5.0\r\n"
    b"\ttests=DKIM_SIGNED,DKIM_VALID autolearn=ham\r\n"
)


def parsed(raw: bytes):  # noqa: ANN201 - an InboundMessage
    return parse_message(raw)


def test_transit_headers_line_endings_and_mbox_framing_are_not_content() -> None:
    digest = parsed(ORIGINAL).content_digest
    assert digest is not None and digest.startswith("rfc822-1:")
    redeliveries = [
        TRANSIT + ORIGINAL,
        ORIGINAL.replace(b"\r\n", b"\n"),  # a Maildir keeps LF, IMAP serves CRLF
        b"From ada@example.org Tue Sep  3 10:00:00 2024\n" + ORIGINAL + b"\r\n\r\n",
        # a hop added below the author's headers too (some MTAs append)
        ORIGINAL.replace(b"MIME-Version", b"X-Spam-Score: 0.1\r\nMIME-Version"),
    ]
    for raw in redeliveries:
        assert parsed(raw).content_digest == digest, raw[:120]


@pytest.mark.parametrize(
    "change",
    [
        (b"Please correct the amount.", b"Please correct the amount. Thanks!"),  # revised
        (b"the amount.\r\n", b"the amount.\r\n-- \r\nsupport-list footer\r\n"),  # list copy
        (b"Subject: Invoice 4411 is wrong", b"Subject: Invoice 4411 is  wrong"),  # whitespace
        (b"Subject: Invoice", b"Subject:  Invoice"),  # whitespace after the colon
        (b"To: Acme", b"Cc: ops@acme.example\r\nTo: Acme"),  # another recipient
    ],
)
def test_any_other_difference_is_another_message_under_the_same_message_id(
    change: tuple[bytes, bytes],
) -> None:
    other = ORIGINAL.replace(*change)
    assert other != ORIGINAL
    assert parsed(other).external_id == parsed(ORIGINAL).external_id == "<inv@x.org>"
    assert parsed(other).content_digest != parsed(ORIGINAL).content_digest


def test_a_body_crlf_split_across_the_hashing_chunks_digests_like_lf() -> None:
    head = b"From: a@x.org\r\nSubject: big\r\n\r\n"
    filler = b"x" * (identity._CHUNK - len(head) - 1)  # "\r" ends the first chunk
    crlf = head + filler + b"\r\nsecond line\r\n" * 3
    assert identity.content_digest(crlf) == identity.content_digest(crlf.replace(b"\r\n", b"\n"))
    assert identity.content_digest(crlf) != identity.content_digest(crlf.replace(b"\r\n", b"\r"))


HEADERLESS = [
    b"<html><body><p>Order 1: please refund</p></body></html>",
    b"<html><body><p>Order 2: please refund</p></body></html>",
    b"<html>\n<head><title>form</title></head>\n\n<body>Name: Ada</body>\n</html>\n",
    b"<html>\n<head><title>form</title></head>\n\n<body>Name: Bob</body>\n</html>\n",
    b"\x78\x9f\x3e\x22\x01\x02\x03 binary TNEF payload one",
    b"\x78\x9f\x3e\x22\x01\x02\x03 binary TNEF payload two",
    b"stub",
    b"another stub",
    b"",
]


async def test_inputs_without_a_header_block_are_each_their_own_message(store: Store) -> None:
    messages = [parsed(raw) for raw in HEADERLESS]
    ids = {m.external_id for m in messages}
    assert len(ids) == len(HEADERLESS)
    assert all(i.endswith("@synthetic.agentconsole.invalid>") for i in ids)
    report = await store.ingest("mail", messages)
    assert (report.stored, report.duplicates, len(report.created)) == (9, 0, 9)
    again = await store.ingest("mail", [parsed(raw) for raw in HEADERLESS])
    assert (again.stored, again.duplicates) == (0, 9)


async def test_through_the_store_a_redelivery_is_one_message_and_a_revision_two(
    store: Store,
) -> None:
    first = await store.ingest("mail", [parsed(ORIGINAL)])
    redelivered = await store.ingest(
        "mail", [parsed(TRANSIT + ORIGINAL), parsed(ORIGINAL.replace(b"\r\n", b"\n"))]
    )
    assert (redelivered.stored, redelivered.duplicates) == (0, 2)
    revision = ORIGINAL.replace(b"the amount.", b"the amount: 120 EUR, not 210 EUR.")
    revised = await store.ingest("mail", [parsed(TRANSIT + revision)])
    assert (revised.stored, revised.touched) == (1, first.created)
    messages = (await store.conversation(first.created[0])).messages
    assert len(messages) == 2
    assert messages[1].parse_note == (
        f"same Message-ID as message {messages[0].id}, different content"
    )
    assert "120 EUR" in messages[1].body
    assert await store.raw_message(messages[1].id) == TRANSIT + revision


def test_mail_without_message_id_keeps_the_id_earlier_versions_gave_it() -> None:
    """Ids of stored mail must not change on upgrade, or a redelivery would be stored twice:
    this is the value the previous release computed for this message."""
    raw = b"From: a@x.org\nSubject: no id\nDate: Tue, 3 Sep 2024 10:00:00 +0200\n\nHello\n"
    assert (
        parsed(raw).external_id
        == "<ba892388802112ab5d583fd33424be75d37b4b3a@synthetic.agentconsole.invalid>"
    )
    assert parsed(b"Received: by mx\n" + raw).external_id == parsed(raw).external_id


async def test_a_maildir_sync_applies_the_same_identity(store: Store, tmp_path) -> None:  # noqa: ANN001
    root = make_maildir(tmp_path / "Maildir")
    deliver_to_maildir(root, ORIGINAL.replace(b"\r\n", b"\n"))
    deliver_to_maildir(root, TRANSIT + ORIGINAL, seen=True)  # a copy, through more relays
    deliver_to_maildir(root, ORIGINAL.replace(b"the amount.", b"the amount, please."))
    plugin = channel(maildir=str(root))
    try:
        result = await plugin.fetch(None)
    finally:
        await plugin.close()
    report = await store.ingest("mail", result.messages, result.cursor)
    assert (report.stored, report.duplicates, len(report.created)) == (2, 1, 1)
