"""The "sending failing" part of a channel's health: written by the send loop, read as it
stands now.

While a channel's sends fail, its send loop records why in the channel's health ("sending
failing: cannot reach smtp.example.com — 10 replies waiting, next try in 16 s"), and clears it
when a send succeeds. That record is a snapshot, and it can stop being true while nobody
who could clear it runs: another process or an agent empties the queue (sent, cancelled,
unsent, failed for good, deleted), or the process that wrote it stopped or died, so no next
try is coming. :func:`as_now` therefore reads the record against the outbox and the lease
each time channels are listed (``channels``, the sidebar, the status line): the problem is
left out once no reply waits, its count is the live one, the next try counts down from when
it was written, and a channel no live process holds says so instead of promising a try.

:func:`describe` writes the text and :func:`as_now` reads it: its format lives here only.
"""

from __future__ import annotations

import re
import time

from ..models import ChannelRecord, replace
from .db import Db

__all__ = ["PREFIX", "as_now", "describe"]

PREFIX = "sending failing: "
#: How the send problem follows the fetch side's error in one detail.
SEPARATOR = "; "
_TAIL = re.compile(r" — \d+ repl(?:y|ies) waiting, next try in (\d+) s$")


def _waiting_text(waiting: int) -> str:
    return f"{waiting} repl{'y' if waiting == 1 else 'ies'} waiting"


def describe(reason: str, waiting: int, delay: float) -> str:
    """The send problem as the health shows it: why, how many replies wait, when the next
    try is."""
    return f"{PREFIX}{reason} — {_waiting_text(waiting)}, next try in {delay:.0f} s"


def _split(detail: str) -> tuple[str | None, str] | None:
    """(the fetch side's error or None, the send problem), or None when there is none."""
    if detail.startswith(PREFIX):
        return None, detail
    index = detail.find(SEPARATOR + PREFIX)
    if index < 0:
        return None
    return detail[:index], detail[index + len(SEPARATOR) :]


def _current(record: ChannelRecord, waiting: int, now: float) -> ChannelRecord:
    parts = _split(record.health_detail or "") if record.health == "error" else None
    if parts is None:
        return record
    fetch_error, problem = parts
    held = record.lease_expires is not None and record.lease_expires > now
    if waiting == 0:
        if fetch_error is not None:
            return replace(record, health_detail=fetch_error)
        return replace(record, health="connected" if held else "idle", health_detail=None)
    found = _TAIL.search(problem)
    head = problem[: found.start()] if found else problem
    if not held:
        tail = f"{_waiting_text(waiting)}; no sync process runs this channel now"
    else:
        left = 0.0
        if found and record.health_at is not None:
            left = max(0.0, record.health_at + float(found.group(1)) - now)
        tail = f"{_waiting_text(waiting)}, next try in {left:.0f} s"
    problem = f"{head} — {tail}"
    detail = problem if fetch_error is None else f"{fetch_error}{SEPARATOR}{problem}"
    return replace(record, health_detail=detail)


def as_now(conn: Db, records: list[ChannelRecord]) -> list[ChannelRecord]:
    """``records`` with each send problem read against the outbox and the lease now (see
    the module docstring); one query, and only when some channel has a send problem."""
    if not any(PREFIX in (record.health_detail or "") for record in records):
        return records
    waiting = dict(
        conn.execute(
            "SELECT channel_id, count(*) FROM outbox WHERE state IN ('queued', 'sending')"
            " GROUP BY channel_id"
        ).fetchall()
    )
    now = time.time()
    return [_current(record, int(waiting.get(record.id, 0)), now) for record in records]
