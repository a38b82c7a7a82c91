"""A FETCH answer in any shape a server may give is read as imapclient reads it."""

from __future__ import annotations

from datetime import UTC, datetime

from agentconsole_email.imap_bodies import internal_date, read_bodies

WHEN = datetime(2026, 12, 1, 20, 20, 17, tzinfo=UTC)


def test_the_common_shape_and_other_orders_read_the_same() -> None:
    common = [
        (b'1 (UID 7 INTERNALDATE "01-Dec-2026 21:20:17 +0100" BODY[] {5}', b"hello"),
        b")",
    ]
    reordered = [(b"1 (BODY[] {5}", b"hello"), b' UID 7 INTERNALDATE " 1-Dec-2026 21:20:17 +0100")']
    with_flags_update = [*common, b"2 (FLAGS (\\Seen))"]
    for data in (common, reordered, with_flags_update):
        assert read_bodies(data) == {7: (b"hello", WHEN)}, data


def test_an_answer_without_messages_is_empty() -> None:
    assert read_bodies([None]) == {}


def test_internal_dates() -> None:
    assert internal_date(b"01-Dec-2026 21:20:17 +0100") == WHEN
    assert internal_date(b" 1-Dec-2026 15:50:17 -0430") == WHEN
    for impossible in (b"31-Feb-2026 10:00:00 +0000", b"01-Foo-2026 10:00:00 +0000", b"soon"):
        assert internal_date(impossible) is None
