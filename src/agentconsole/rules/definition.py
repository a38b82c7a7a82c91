"""What a rule is once its config was read and checked: plain, frozen values.

The store runs rules inside its transactions (:mod:`agentconsole.store.rules_sql`), the
replay reads them without writing (:mod:`.replay`), the CLI lists them. Nothing here reads a
file or talks to the store, so every one of them may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..query import Node
from ..replies import SavedReply
from .spam import SpamPolicy

Event = Literal[
    "inbound", "new_conversation", "status_change", "assignment", "tag_change", "schedule"
]
#: The events a rule may be evaluated on, in the order ``rules list`` shows them.
EVENTS: tuple[Event, ...] = (
    "inbound",
    "new_conversation",
    "status_change",
    "assignment",
    "tag_change",
    "schedule",
)
#: What an agent's change of a conversation is, as an event (priority changes are none).
EVENT_OF_CHANGE: dict[str, Event] = {
    "assign": "assignment",
    "status": "status_change",
    "tags": "tag_change",
}
#: A rule sends at most one saved reply per conversation in this many seconds.
AUTO_REPLY_INTERVAL = 86_400.0


def rule_agent(name: str) -> str:
    """Who a rule's changes are recorded as in the audit log: ``rule 'NAME'``."""
    return f"rule {name!r}"


@dataclass(frozen=True, slots=True)
class Assignment:
    """Whom a rule assigns to: one ``agent``, or a team's members taken in turn
    (``round_robin``) or the one with the fewest open conversations (``least_busy``)."""

    kind: Literal["agent", "round_robin", "least_busy"]
    #: The agent, or the team.
    name: str
    #: The team's members, in the config's order (empty for one agent).
    members: tuple[str, ...] = ()

    def describe(self) -> str:
        return self.name if self.kind == "agent" else f"{self.kind}:{self.name}"


@dataclass(frozen=True, slots=True)
class Actions:
    """What a rule does to each conversation it matches (``then = {…}``)."""

    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    #: A priority rank (0 urgent … 3 low).
    priority: int | None = None
    #: open, pending or closed (a snooze is ``snooze``).
    status: str | None = None
    #: When to wake a snoozed conversation, as written ("in 2d", "tomorrow 9am").
    snooze: str | None = None
    assign: Assignment | None = None
    #: The saved reply sent (an acknowledgement; see :data:`AUTO_REPLY_INTERVAL`).
    reply: SavedReply | None = None
    #: An internal note's text.
    note: str | None = None
    spam: bool = False
    #: A shell command run after the change is committed, the conversation as JSON on stdin.
    hook: str | None = None

    def describe(self) -> list[str]:
        """One short phrase per action, in the order they run (``rules list``)."""
        parts = [f"+{t}" for t in self.add_tags] + [f"-{t}" for t in self.remove_tags]
        if self.priority is not None:
            from ..models import priority_name

            parts.append(f"priority {priority_name(self.priority)}")
        if self.status is not None:
            parts.append(f"status {self.status}")
        if self.snooze is not None:
            parts.append(f"snooze {self.snooze}")
        if self.assign is not None:
            parts.append(f"assign {self.assign.describe()}")
        if self.spam:
            parts.append("spam")
        if self.reply is not None:
            parts.append(f"reply {self.reply.name}")
        if self.note is not None:
            parts.append("note")
        if self.hook is not None:
            parts.append("hook")
        return parts


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``[[rules]]`` table, checked: its query parsed, its reply, agent and team found."""

    name: str
    on: Event
    #: The condition as written (``if = "…"``); empty matches every conversation.
    condition: str
    query: Node
    then: Actions
    stop: bool = False
    enabled: bool = True
    #: The file the rule was read from (for messages).
    file: str = ""


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """A rule that cannot run, and why; the other rules run without it."""

    file: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: rule {self.rule!r}: {self.message}"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Every rule in evaluation order (the config's, then each shared file's), the broken
    ones apart, and the spam policy. ``reply_as`` is the name customers see on a rule's
    replies."""

    rules: tuple[Rule, ...] = ()
    problems: tuple[RuleProblem, ...] = ()
    reply_as: str = "Support"
    #: What lands in Spam on arrival (``[spam]``).
    spam: SpamPolicy = field(default_factory=SpamPolicy)
    _by_event: dict[str, tuple[Rule, ...]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for event in EVENTS:
            self._by_event[event] = tuple(r for r in self.rules if r.enabled and r.on == event)

    def for_event(self, event: Event) -> tuple[Rule, ...]:
        """The enabled rules of ``event``, in order."""
        return self._by_event.get(event, ())

    def named(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)


@dataclass(frozen=True, slots=True)
class RuleReplay:
    """What one rule would have done over the stored history (``rules test``): how many
    conversations it matched, how many each action would have changed (``"+billing"``,
    ``"assign alice"``, ``"reply ack-billing"`` …), and a few of the ids it matched."""

    rule: str
    event: Event
    matched: int
    changes: tuple[tuple[str, int], ...]
    sample_ids: tuple[int, ...]
