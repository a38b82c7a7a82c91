"""Due times: when a conversation's current SLA target falls due, from what the store
knows of it. Pure functions of the facts (no SQL, no clock of their own), so the store's
recompute, the report and the tests agree.

Which targets run:
- **first response**: from the conversation's start (or the moment a bot handed it off)
  until an agent first answers;
- **next response**: once answered, from the customer's oldest unanswered message until
  the next answer;
- **resolution**: from the start (or hand-off) until it is closed.

The current target is the one due first. Pending (waiting on the customer) stops every
clock: the time spent pending is not counted, and the clock runs on when the customer
writes (which reopens the conversation) or an agent reopens it. Closed: nothing is due.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from .business_hours import Clock
from .policies import Policy

#: A pause: (from, to) Unix times; ``to`` is ``None`` while it lasts.
Pause = tuple[float, float | None]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the due time depends on, for one conversation."""

    status: str
    created_at: float
    updated_at: float
    first_response_at: float | None
    waiting_since: float | None
    resolved_at: float | None
    pauses: tuple[Pause, ...] = ()
    #: When a bot handed the conversation to people (their clocks start there).
    handed_off_at: float | None = None


@dataclass(frozen=True, slots=True)
class Due:
    """The current target (``first_response``, ``next_response``, ``resolution``; ``None``
    when nothing is due: closed, paused, or no target applies), since when its clock runs
    (wall time) and when it falls due; ``missed``: a target was met late (answered or
    closed after it fell due)."""

    target: str | None
    started_at: float | None
    due_at: float | None
    missed: bool = False


def add_running(
    clock: Clock, start: float, seconds: float, pauses: Sequence[Pause]
) -> float | None:
    """The instant ``seconds`` of ``clock`` time after ``start``, not counting the
    ``pauses``; ``None`` when the time runs into a pause that still lasts."""
    left, cursor = seconds, start
    for paused_from, paused_to in sorted(pauses):
        if paused_to is not None and paused_to <= cursor:
            continue
        if paused_from > cursor:
            due = clock.add(cursor, left)
            if due <= paused_from:
                return due
            # Fewer open hours before the pause than are left: a short walk.
            left -= clock.elapsed(cursor, paused_from)
        if paused_to is None:
            return None
        cursor = paused_to
    return clock.add(cursor, left)


def update_pauses(pauses: Sequence[Pause], status: str, changed_at: float) -> tuple[Pause, ...]:
    """The pauses after the conversation became ``status`` at ``changed_at``: pending
    opens one (if none is open), any other status closes the open one."""
    if not pauses and status != "pending":
        return ()
    current = tuple(pauses)
    last_open = bool(current) and current[-1][1] is None
    if status == "pending" and not last_open:
        return (*current, (changed_at, None))
    if status != "pending" and last_open:
        return (*current[:-1], (current[-1][0], max(current[-1][0], changed_at)))
    return current


def compute(policy: Policy, clock: Clock, facts: Facts) -> Due:
    """The current target of ``facts`` under ``policy``, measured on ``clock``."""
    start = facts.created_at
    if facts.handed_off_at is not None:
        start = max(start, facts.handed_off_at)
    pauses = facts.pauses
    missed = False
    #: (due, target, since) of each target that runs (a paused one is not due)
    candidates: list[tuple[float, str, float]] = []

    def consider(target: str, since: float, seconds: float | None) -> None:
        due = None if seconds is None else add_running(clock, since, seconds, pauses)
        if due is not None:
            candidates.append((due, target, since))

    if policy.first_response is not None and facts.first_response_at is not None:
        due = add_running(clock, start, policy.first_response, pauses)
        missed |= due is not None and facts.first_response_at > due
    if policy.resolution is not None and facts.status == "closed" and facts.resolved_at:
        due = add_running(clock, start, policy.resolution, pauses)
        missed |= due is not None and facts.resolved_at > due
    if facts.status == "closed":
        return Due(None, None, None, missed)
    if facts.first_response_at is None or (
        facts.handed_off_at is not None and facts.first_response_at < facts.handed_off_at
    ):
        consider("first_response", start, policy.first_response)
    elif facts.waiting_since is not None:
        consider("next_response", max(facts.waiting_since, start), policy.next_response)
    consider("resolution", start, policy.resolution)
    if not candidates:
        return Due(None, None, None, missed)
    due_at, target, since = min(candidates)
    return Due(target, since, due_at, missed)


def pauses_from_json(text: str | None) -> tuple[Pause, ...]:
    """Pauses as the store keeps them (JSON ``[[from, to|null], …]``); bad data: none."""
    if not text:
        return ()
    try:
        data = json.loads(text)
        return tuple((float(a), None if b is None else float(b)) for a, b in data)
    except (ValueError, TypeError):
        return ()


def pauses_to_json(pauses: Sequence[Pause]) -> str | None:
    return json.dumps([list(p) for p in pauses]) if pauses else None
