"""Parsed messages cross from the parse workers as tuples and arrive as they were parsed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentconsole.plugin import Attachment, Author, Identity, InboundMessage
from agentconsole_email import wire
from agentconsole_email.parse import ParseSettings, parse_safely
from agentconsole_email.pool import Parser

CORPUS = Path(__file__).parent / "corpus"
SETTINGS = ParseSettings(frozenset({"support@acme.example"}))


def test_every_field_of_a_message_survives_the_trip() -> None:
    message = InboundMessage(
        external_id="<x@example.org>",
        author=Author("Ann \x1b[31m", (Identity("email", "ann@example.org", verified=False),)),
        body="text\x00",
        sent_at=datetime(2026, 12, 1, tzinfo=UTC),
        subject="subject",
        thread_key="key",
        references=("<a@example.org>", "<b@example.org>"),
        attachments=(Attachment("f.bin", "application/octet-stream", b"\x00\xff"),),
        raw=b"raw bytes",
        parse_note="a note",
        automated=True,
        from_agent=True,
        url="https://example.org/x",
        conversation_token="42",
        participants=(Identity("email", "bob@example.org"),),
        content_digest="rfc822-1:ab",
        author_role="bot",
        handoff=True,
    )
    assert wire.decode(wire.encode(message)) == message
    assert wire.decode(wire.encode(message), b"other").raw == b"other"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name)
def test_hostile_corpus_messages_survive_the_trip(path: Path) -> None:
    message = parse_safely(path.read_bytes(), SETTINGS)
    assert wire.decode(wire.encode(message)) == message


async def test_worker_parsed_files_equal_those_parsed_here(tmp_path: Path) -> None:
    paths = sorted(CORPUS.glob("*.eml"))
    # Enough files for the worker processes (a small batch is parsed in a thread).
    files = [(str(paths[i % len(paths)]), 0.0) for i in range(80)]
    parser = Parser(SETTINGS)
    try:
        parsed = await parser.parse_files(files)
        raws = await parser.parse_raws([(Path(p).read_bytes(), None) for p, _ in files])
    finally:
        parser.close()
    expected = [
        parse_safely(Path(p).read_bytes(), SETTINGS, fallback_date=datetime.fromtimestamp(0, UTC))
        for p, _ in files
    ]
    assert [m.external_id for m in parsed if m] == [m.external_id for m in expected]
    for got, want in zip(parsed, expected, strict=True):
        assert got is not None
        if want.sent_at != datetime.fromtimestamp(0, UTC):  # a Date header was read
            assert got == want
        assert got.raw == want.raw and got.body == want.body and got.parse_note == want.parse_note
    assert [m.raw for m in raws] == [m.raw for m in expected]
    assert [m.body for m in raws] == [m.body for m in expected]
