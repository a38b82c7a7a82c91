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


def sla_countdown(row: ConversationRow, now: float) -> str | None:
    """The SLA clock of a conversation under a policy: ``due 42m`` until its current
    target falls due, ``breached 3h`` since; ``None`` when nothing is due."""
    if row.sla is None or row.sla_due_at is None:
        return None
    left = row.sla_due_at - now
    return f"due {span(left)}" if left > 0 else f"breached {span(-left)}"


def sla_fraction_left(row: ConversationRow, now: float) -> float | None:
    """How much of the current target's time is left, 1.0 (all) to 0.0 (due now), below
    zero once past; ``None`` when nothing is due."""
    if row.sla is None or row.sla_due_at is None:
        return None
    started = row.sla_started_at if row.sla_started_at is not None else row.created_at
    total = row.sla_due_at - started
    if total <= 0:
        return 0.0 if now < row.sla_due_at else -1.0
    return (row.sla_due_at - now) / total
