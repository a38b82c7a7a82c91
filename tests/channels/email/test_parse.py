"""Parsing real-world mail: a corpus of malformed and exotic messages, each one stored
with its raw bytes, a readable body where there is one, and a note where there is not."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from agentconsole.store import Store
from agentconsole_email.parse import (
    MAX_DEPTH,
    ParseSettings,
    parse_message,
    parse_safely,
)

CORPUS = Path(__file__).parent / "corpus"
SETTINGS = ParseSettings(frozenset({"support@acme.example"}))


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.eml"))


def parse(name: str) -> object:
    return parse_safely((CORPUS / name).read_bytes(), SETTINGS)


def many_parts(count: int) -> bytes:
    head = (
        f"From: Frank <frank@example.org>\nSubject: {count} parts\nMessage-ID: <many-{count}@example.org>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="mp"\n\n'
        "--mp\nContent-Type: text/plain\n\nThe customer's text comes first.\n"
    )
    parts = "".join(
        f'--mp\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="f{i}.bin"\n\nx{i}\n'
        for i in range(count)
    )
    return (head + parts + "--mp--\n").encode()


def huge_line(size: int) -> bytes:
    return (
        b"From: Heidi <heidi@example.org>\nSubject: one huge line\nMessage-ID: <huge@example.org>\n"
        b"Content-Type: text/plain; charset=us-ascii\n\nstart " + b"word " * (size // 5) + b"end\n"
    )


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_every_corpus_message_parses_keeping_its_raw_bytes(path: Path) -> None:
    raw = path.read_bytes()
    started = time.perf_counter()
    message = parse_message(raw, SETTINGS)
    assert time.perf_counter() - started < 2.5
    assert message.raw == raw
    assert message.external_id.startswith("<") and message.external_id.endswith(">")
    assert message.sent_at.tzinfo is not None
    assert parse_message(raw, SETTINGS).external_id == message.external_id, "ids must be stable"


def test_bad_and_wrong_charsets_are_read_and_noted() -> None:
    unknown = parse("bad_charset.eml")
    assert "Grüße aus München" in unknown.body
    assert "unknown charset 'x-no-such-charset'" in unknown.parse_note
    wrong = parse("wrong_charset.eml")
    assert "Café crème" in wrong.body


def test_unknown_transfer_encoding_keeps_the_readable_parts() -> None:
    message = parse("unknown_transfer_encoding.eml")
    assert "the backup failed" in message.body
    assert "unknown transfer encoding 'x-gzip64'" in message.parse_note


def test_group_syntax_recipients_do_not_break_parsing() -> None:
    message = parse("unlisted_recipients.eml")
    assert message.author.identities[0].address == "dan@example.org"
    assert "nobody in particular" in message.body and message.parse_note is None


def test_deep_nesting_is_bounded_and_noted() -> None:
    message = parse("deep_nesting.eml")
    assert f"nested deeper than {MAX_DEPTH}" in message.parse_note
    assert message.subject == "nested very deeply"


def test_huge_part_counts_are_bounded_in_time_and_noted() -> None:
    raw = many_parts(20_000)
    started = time.perf_counter()
    message = parse_message(raw, SETTINGS)
    assert time.perf_counter() - started < 2.0
    assert "The customer's text comes first." in message.body
    assert "parts: only the first were read" in message.parse_note
    assert 0 < len(message.attachments) <= 500
    assert message.raw == raw


def test_a_message_without_message_id_gets_a_stable_synthetic_id() -> None:
    raw = (CORPUS / "no_message_id.eml").read_bytes()
    first = parse_message(raw, SETTINGS)
    assert first.external_id.endswith("@synthetic.agentconsole.invalid>")
    # Delivered again through another path: trace headers differ, the id does not.
    redelivered = b"Received: from mx2 by mx3; Tue, 3 Sep 2024\nReturn-Path: <x@y>\n" + raw
    assert parse_message(redelivered, SETTINGS).external_id == first.external_id
    other = raw.replace(b"no Message-ID header", b"no Message-ID header either")
    assert parse_message(other, SETTINGS).external_id != first.external_id


def test_eight_bit_and_encoded_headers_are_decoded() -> None:
    raw8 = parse("eight_bit_headers.eml")
    assert raw8.subject == "Problème de facturation — urgent"
    assert raw8.author.name == "Renée Dubois"
    encoded = parse("encoded_words.eml")
    assert encoded.author.name == "André Müller"
    assert encoded.subject.startswith("Re: Grüße")
    assert "Grüße, still broken." in encoded.body


def test_huge_lines_are_kept_and_searchable() -> None:
    raw = huge_line(3_000_000)
    message = parse_message(raw, SETTINGS)
    assert message.body.startswith("start word") and message.raw == raw
    # Kept whole: nothing the customer wrote is cut (the screen folds long bodies).
    assert message.body.endswith(" end\n") and len(message.body) > 3_000_000
    assert message.parse_note is None


def test_tnef_is_kept_as_an_attachment() -> None:
    message = parse("tnef.eml")
    assert message.body.strip() == "Please see the attached document."
    (attachment,) = message.attachments
    assert attachment.filename == "winmail.dat" and attachment.content_type == "application/ms-tnef"
    assert len(attachment.data) == 4 + 1024
    assert "TNEF" in message.parse_note


def test_calendar_invites_show_text_and_keep_the_ics() -> None:
    invite = parse("calendar_invite.eml")
    assert invite.body.strip() == "You are invited to an onboarding call."
    assert [a.content_type for a in invite.attachments] == ["text/calendar"]
    assert invite.attachments[0].filename.endswith(".ics")
    only = parse("calendar_only.eml")
    assert "Onboarding call about the router" in only.body and "20240910T140000Z" in only.body


def test_html_only_mail_is_converted_without_fetching_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsing tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    message = parse("html_only_remote_images.eml")
    assert "Hello, your order #1234 is delayed." in message.body
    assert "Item one" in message.body and "Track it" in message.body
    assert "<" not in message.body and "alert(1)" not in message.body
    assert "tracker.example" not in message.body


def test_alternative_prefers_plain_text() -> None:
    raw = (
        b"From: a@example.org\nMessage-ID: <alt@example.org>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="x"\n\n'
        b"--x\nContent-Type: text/plain\n\nplain version\n"
        b"--x\nContent-Type: text/html\n\n<p>html version</p>\n--x--\n"
    )
    assert parse_message(raw, SETTINGS).body.strip() == "plain version"
    empty_plain = raw.replace(b"plain version", b"   ")
    assert parse_message(empty_plain, SETTINGS).body.strip() == "html version"


def test_auto_replies_bounces_and_bulk_are_automated() -> None:
    assert parse("auto_reply.eml").automated
    assert parse("bounce_dsn.eml").automated
    assert parse("precedence_bulk.eml").automated
    assert not parse("encoded_words.eml").automated


def test_threading_headers_tokens_and_forwards() -> None:
    reply = parse("encoded_words.eml")
    assert reply.references == ("<root@acme.example>", "<parent@acme.example>")
    assert reply.conversation_token == "42"
    forward = parse("forward.eml")
    assert forward.references == () and forward.conversation_token is None
    assert parse("forwarded_rfc822.eml").references == ()
    assert "The original text of the complaint." in parse("forwarded_rfc822.eml").body


def test_our_own_mail_is_from_the_agent_side() -> None:
    ours = parse("from_us.eml")
    assert ours.from_agent
    assert not parse("encoded_words.eml").from_agent


def test_reply_to_names_the_customer_behind_a_form() -> None:
    message = parse("reply_to_form.eml")
    assert message.author.identities[0].address == "sam@example.org"
    assert message.author.name == "Sam Customer"


def test_garbage_is_stored_with_a_note() -> None:
    message = parse("garbage.eml")
    assert message.raw == (CORPUS / "garbage.eml").read_bytes()
    assert "no mail headers" in message.parse_note
    assert message.author.identities == ()


def test_mbox_separator_crlf_nul_and_bad_dates() -> None:
    mbox = parse("mbox_from_line.eml")
    assert (
        mbox.subject == "from an mbox" and mbox.author.identities[0].address == "quinn@example.org"
    )
    crlf = parse("crlf_and_nul.eml")
    assert crlf.body == "Line one\nwith a \x00 NUL byte\n"
    assert crlf.sent_at.tzinfo is not None


def test_a_parser_crash_still_returns_the_raw_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentconsole_email import parse as parse_module

    def explode(*args: object, **kwargs: object) -> None:
        raise MemoryError("simulated")

    monkeypatch.setattr(parse_module, "read_headers", explode)
    raw = (CORPUS / "bad_charset.eml").read_bytes()
    message = parse_safely(raw, SETTINGS)
    assert message.raw == raw and message.external_id == "<bad-charset@example.org>"
    assert "could not be read" in message.parse_note


async def test_the_whole_corpus_ingests_without_loss(store: Store) -> None:
    raws = [p.read_bytes() for p in corpus_files()] + [many_parts(5000), huge_line(2_000_000)]
    messages = [parse_safely(raw, SETTINGS) for raw in raws]
    report = await store.ingest("mail", messages, None)
    assert report.stored == len(raws) and report.duplicates == 0
    stored = await store.run_sync(
        lambda conn: conn.execute(
            "SELECT m.external_id, r.raw FROM messages m JOIN raw_messages r ON r.message_id = m.id"
        ).fetchall()
    )
    assert sorted(bytes(raw) for _, raw in stored) == sorted(raws)
    again = await store.ingest("mail", [parse_safely(raw, SETTINGS) for raw in raws], None)
    assert again.stored == 0 and again.duplicates == len(raws)


def test_to_and_cc_become_participants_without_us_or_the_author() -> None:
    from agentconsole.plugin import Identity
    from agentconsole_email.parse import ParseSettings

    raw = (
        b"From: Ada <ada@example.org>\r\nTo: Support <support@acme.example>, bob@example.org\r\n"
        b"Cc: Ada <ADA@example.org>, Carol <carol@example.org>\r\n"
        b"Message-ID: <p1@example.org>\r\nSubject: printers\r\n\r\nAll three of us are stuck.\r\n"
    )
    message = parse_message(raw, ParseSettings(own_addresses=frozenset({"support@acme.example"})))
    assert message.participants == (
        Identity("email", "bob@example.org"),
        Identity("email", "carol@example.org"),
    )


def test_the_quick_reading_of_simple_address_headers_matches_the_general_one() -> None:
    """Simple address headers skip the general parser; what they yield is what it yields,
    and anything else (comments, escapes, dotted names, groups) still goes to it."""
    from email.utils import getaddresses

    from agentconsole_email.addresses import _simple_pairs, decode_words, parse_addresses

    simple = [
        "ada@example.org",
        "Ada Lovelace <Ada@Example.org>",
        '"Lovelace, Ada" <ada@example.org>, bob@example.net,',
        "=?utf-8?q?Andr=E9?= <andre@example.org>",
        "O'Brien <ob@example.ie>",
        '"" <a@example.org>',
    ]
    for value in simple:
        assert _simple_pairs(value) is not None, value
        general = [
            (decode_words(name), address.lower())
            for name, address in getaddresses([value])
            if "@" in address
        ]
        assert parse_addresses(value) == general, value
    for value in ["J. Smith <j@example.org>", "a (comment) <a@example.org>", "list: a@b.org;"]:
        assert _simple_pairs(value) is None, value
