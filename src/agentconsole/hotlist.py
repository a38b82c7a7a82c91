"""The hotlist: which conversation needs the agent most, across every view (weechat's
hotlist jump for a support queue).

Headless (no Textual). Each step is a query in the query language, read in order; the first
step with a conversation gives the one to open, and the conversations of every step are
what "waiting for you" counts. The steps, most pressing first:

1. ``sla`` — an SLA breached or about to breach (:data:`SLA_QUERY`: due within 30 minutes,
   past due included).
2. ``answered`` — a customer who answered your reply (``is:answered``).
3. ``mentions`` — a mention of you. **Hook:** mentions do not exist yet (``None``).
4. ``unassigned`` — the longest-waiting unassigned conversation.

Within a step the customer waiting longest comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .models import ConversationRow
from .query import Node, parse
from .views import Order

#: The SLA step's query: a target due within 30 minutes or past due.
SLA_QUERY: str | None = "sla:due<30m"
#: The mentions step's query: None until mentions exist.
MENTIONS_QUERY: str | None = None
#: At most this many conversations are counted per step (the status line says "50+").
COUNT_CAP = 50


@dataclass(frozen=True, slots=True)
class HotlistStep:
    name: str
    #: Why a conversation of this step is opened, said to the agent.
    reason: str
    query: str | None
    order: Order = "waiting"


def steps() -> tuple[HotlistStep, ...]:
    """The steps in order (read each time, so a hook set at start-up is seen)."""
    return (
        HotlistStep("sla", "its SLA is about to breach", SLA_QUERY),
        HotlistStep("answered", "the customer answered your reply", "is:answered"),
        HotlistStep("mentions", "you were mentioned", MENTIONS_QUERY),
        HotlistStep(
            "unassigned", "unassigned, waiting longest", "is:unassigned is:waiting status:open"
        ),
    )


class Finder(Protocol):
    async def find(
        self, query: Node, *, order: Order = "urgent", limit: int | None = None
    ) -> list[ConversationRow]: ...


@dataclass(frozen=True, slots=True)
class Hotlist:
    """What needs the agent: the conversations in hotlist order, each with its reason."""

    entries: tuple[tuple[ConversationRow, str], ...]

    @property
    def count(self) -> int:
        return len(self.entries)

    def first(self, skip: Sequence[int] = ()) -> tuple[ConversationRow, str] | None:
        """The most pressing conversation, other than those in ``skip`` (the one open)."""
        for row, reason in self.entries:
            if row.id not in skip:
                return row, reason
        return None


async def read(store: Finder) -> Hotlist:
    """Every step's conversations (up to :data:`COUNT_CAP` each), a conversation listed
    once, at its most pressing step."""
    seen: set[int] = set()
    entries: list[tuple[ConversationRow, str]] = []
    for step in steps():
        if step.query is None:
            continue
        for row in await store.find(parse(step.query), order=step.order, limit=COUNT_CAP):
            if row.id not in seen:
                seen.add(row.id)
                entries.append((row, step.reason))
    return Hotlist(tuple(entries))
