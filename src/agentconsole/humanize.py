"""Short, human readings of times, shared by the CLI and the TUI so they never disagree.

Headless: no Rich, no Textual.
"""

from __future__ import annotations

from .models import ConversationRow

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 604800


def span(seconds: float | None) -> str:
    """A compact duration: ``40s``, ``12m``, ``3h``, ``10d`` (days up to two weeks), ``5w``;
    ``-`` when there is none."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < MINUTE:
        return f"{int(seconds)}s"
    if seconds < HOUR:
        return f"{int(seconds // MINUTE)}m"
    if seconds < DAY:
        return f"{int(seconds // HOUR)}h"
    if seconds < 2 * WEEK:
        return f"{int(seconds // DAY)}d"
    return f"{int(seconds // WEEK)}w"


def waiting(row: ConversationRow, now: float) -> str:
    """How long the customer has waited — or, when nobody waits, what the conversation is
    doing: ``wakes 3h`` (snoozed), ``closed 2d``, ``5m ago`` (the last message)."""
    if row.status == "snoozed" and row.snooze_until:
        return f"wakes {span(row.snooze_until - now)}"
    if row.status == "closed":
        return f"closed {span(now - row.last_message_at)}"
    if row.waiting_since is not None:
        return f"waiting {span(now - row.waiting_since)}"
    return f"{span(now - row.last_message_at)} ago"
