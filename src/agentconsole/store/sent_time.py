"""The time a message says it was sent, bounded: a sender cannot pin a conversation to the
top of the queue (or bury it) with a date in year 1 or 9999.

Every channel's messages pass through here on ingest, so the rule is the same for mail
``Date`` headers, API ``sent_at``, forum and chat timestamps. A time before
:data:`EARLIEST` or more than :data:`FUTURE_SLACK` seconds after the arrival is replaced by
the arrival time, and the message carries a note saying what the sender claimed.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["EARLIEST", "FUTURE_SLACK", "bounded"]

#: No message this product can receive was sent before 1990-01-01 UTC.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC).timestamp()
#: Clocks and time zones may be off by hours; a day ahead of the arrival is not believed.
FUTURE_SLACK = 86400.0


def bounded(sent_at: datetime, arrived: float) -> tuple[float, str | None]:
    """``sent_at`` as Unix seconds, or ``arrived`` with a note naming the claimed time when
    that is before :data:`EARLIEST` or more than :data:`FUTURE_SLACK` after ``arrived``."""
    when = sent_at
    try:
        seconds = when.timestamp()
    except (OverflowError, OSError, ValueError):
        seconds = float("nan")
    if EARLIEST <= seconds <= arrived + FUTURE_SLACK:
        return seconds, None
    try:
        claimed = when.astimezone(UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        claimed = when.isoformat()
    return arrived, f"the sender's time {claimed} is implausible; shown at its arrival time"
