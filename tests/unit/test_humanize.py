"""Durations read the same in the queue, the report and the CLI."""

from __future__ import annotations

import dataclasses

from agentconsole import humanize
from agentconsole.models import ConversationRow
from agentconsole.output import conversation_line

NOW = 1_800_000_000.0
DAY = 86400.0


def test_ten_days_reads_ten_days_and_a_month_reads_weeks() -> None:
    assert [humanize.span(s) for s in (30, 90, 7200, 10 * DAY, 30 * DAY)] == [
        "30s",
        "1m",
        "2h",
        "10d",
        "4w",
    ]
    assert humanize.span(None) == "-"


def _row(**changes: object) -> ConversationRow:
    fields = {f.name: None for f in dataclasses.fields(ConversationRow)}
    fields.update(
        id=7,
        channel="support",
        channel_kind="email",
        status="open",
        priority=2,
        tags=(),
        subject="Refund",
        contact_name="Ada",
        contact_id=1,
        created_at=NOW - DAY,
        updated_at=NOW - DAY,
        last_message_at=NOW - 18 * 3600,
        waiting_since=NOW - 18 * 3600,
        message_count=1,
    )
    fields.update(changes)
    return ConversationRow(**fields)  # type: ignore[arg-type]


def test_a_closed_conversation_is_not_listed_as_waiting() -> None:
    assert humanize.waiting(_row(), NOW) == "waiting 18h"
    assert humanize.waiting(_row(status="closed"), NOW) == "closed 18h"
    assert "waiting" not in conversation_line(_row(status="closed", last_message_at=0.0))
