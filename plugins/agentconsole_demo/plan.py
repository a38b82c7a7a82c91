"""Planning the demo's "support day": the three demo channels, every conversation on them,
its messages and what the team did with it, as the contract's :class:`SeedConversation`
values. Pure and deterministic for a given seed and time; the core writes the plan into a
store (``agentconsole demo``), this package never touches one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from agentconsole.plugin import (
    ChannelKind,
    DemoChannelSetup,
    InboundMessage,
    SeedConversation,
    SeedReply,
    SeedReplyOutcome,
)

from .content import (
    FAILURE_REASONS,
    FORUM_ME_TOO,
    NUDGES,
    THANKS,
    agent_body,
    customer_body,
    fill_ins,
    render,
)
from .people import BRACKETS_PERSON, POOL_SIZE, Person, person
from .threads import Thread
from .topics import TOPICS, Case, Topic

__all__ = ["CHANNELS", "DEMO_CHANNELS", "TEAMMATES", "plan_day"]

Status = Literal["open", "pending", "snoozed", "closed"]

#: (name, kind, conversations) of the three demo channels.
CHANNELS: tuple[tuple[str, ChannelKind, int], ...] = (
    ("demo-email", "email", 150),
    ("demo-chat", "chat", 130),
    ("demo-forum", "forum", 80),
)
#: Seconds between new messages per demo channel: together about one every 3.5 seconds.
INTERVALS = {"email": 12.0, "chat": 7.0, "forum": 15.0}
REPLY_DELAY = 5.0
#: How ``agentconsole demo`` configures the three channels.
DEMO_CHANNELS = tuple(
    DemoChannelSetup(
        name,
        kind,
        {"kind": kind, "interval": INTERVALS[kind], "reply_delay": REPLY_DELAY, "seed": n + 1},
    )
    for n, (name, kind, _) in enumerate(CHANNELS)
)
#: The current agent's teammates, by user name, with the name they sign with.
TEAMMATES = {"maria": "Maria López", "kenji": "Kenji Watanabe", "priya": "Priya Raman"}
MULTICHANNEL_PEOPLE = 30
#: Statuses cycle through this pattern (shuffled per channel), so every one is present.
STATUS_PATTERN: tuple[Status, ...] = (
    ("open",) * 10 + ("pending",) * 5 + ("snoozed",) * 2 + ("closed",) * 8
)
UNTRIAGED_SHARE = 0.45  # open conversations nobody has looked at yet
NOTE_SHARE = 0.18
#: What became of the current agent's latest replies, per channel kind, newest last.
RECENT_REPLIES: dict[str, tuple[SeedReplyOutcome, ...]] = {
    "email": ("sent", "failed", "sent", "queued", "sent"),
    "chat": ("sent", "sent", "queued", "sent"),
    "forum": ("sent", "failed", "sent"),
}
#: The seeded day spans this long before ``now``.
DAY = 24 * 3600.0
MINUTE, HOUR = 60.0, 3600.0


@dataclass(frozen=True, slots=True)
class _Slot:
    """Who opens a conversation on which channel; ``with_email`` lets the core merge them."""

    kind: str
    customer: Person
    with_email: bool


def _slots(rng: random.Random) -> dict[str, list[_Slot]]:
    """Customers per channel: a group writes on two or three channels with their mail
    address (one contact each, once merged), the rest on one channel, some more than once."""
    indices = list(range(1, POOL_SIZE))
    rng.shuffle(indices)
    multichannel = [BRACKETS_PERSON] + [person(i) for i in indices[: MULTICHANNEL_PEOPLE - 1]]
    others = [person(i) for i in indices[MULTICHANNEL_PEOPLE - 1 :]]
    kinds = [kind for _, kind, _ in CHANNELS]
    slots: dict[str, list[_Slot]] = {kind: [] for kind in kinds}
    for customer in multichannel:
        for kind in rng.sample(kinds, rng.choice((2, 2, 3))):
            slots[kind].append(_Slot(kind, customer, True))
    for _, kind, count in CHANNELS:
        while len(slots[kind]) < count:
            slots[kind].append(_Slot(kind, rng.choice(others), rng.random() < 0.2))
        rng.shuffle(slots[kind])
    return slots


def _gap(rng: random.Random, kind: str, answering: bool) -> float:
    """Seconds between two messages of a thread; chat is quick, mail and forum are not."""
    if kind == "chat":
        return rng.uniform(20, 240)
    return rng.uniform(10 * MINUTE, 5 * HOUR) if answering else rng.uniform(15 * MINUTE, 6 * HOUR)


def _quiet_time(rng: random.Random) -> float:
    """How long ago the last message came: minutes for some, most of a day for others."""
    draw = rng.random()
    if draw < 0.4:
        return rng.uniform(3 * MINUTE, HOUR)
    if draw < 0.75:
        return rng.uniform(HOUR, 8 * HOUR)
    return rng.uniform(8 * HOUR, 22 * HOUR)


# Who writes, in order: C customer, F customer follow-up, T customer thanks, B forum
# bystander, A agent. The last letter decides what the queue shows (who waits for whom).
_SHAPES = {
    "open": ("C", "CF", "CAF", "CBF"),
    "pending": ("CA", "CAFA"),
    "snoozed": ("CA", "CBA"),
    "closed": ("CA", "CAT", "CAFAT"),
}


def _conversation(
    rng: random.Random,
    key: str,
    slot: _Slot,
    topic: Topic,
    status: str,
    now: float,
    agent_name: str,
) -> tuple[tuple[InboundMessage, ...], Case, dict[str, str]]:
    """The thread's messages, the case it is about and its template values."""
    kind, customer = slot.kind, slot.customer
    case = rng.choice(topic.cases)
    values = fill_ins(rng, customer.name, customer.email)
    values.update(agent_name=agent_name, agent_first=agent_name.split()[0])
    thread = Thread(kind, key, render(case.subject, values), customer, slot.with_email)
    shape = rng.choice([s for s in _SHAPES[status] if kind == "forum" or "B" not in s])
    # Texts and gaps first, then place the thread so its last message is _quiet_time ago.
    texts: list[tuple[str, str]] = []
    for who in shape:
        if who == "C":
            lines = case.opening(kind).split("\n") if kind == "chat" else [case.opening(kind)]
            texts += [("C", line) for line in lines]
        elif who == "F":
            texts.append(("C", rng.choice(topic.followups + NUDGES)))
        elif who == "T":
            texts.append(("C", rng.choice(THANKS)))
        elif who == "B":
            texts.append(("B", rng.choice(FORUM_ME_TOO)))
        else:
            texts.append(("A", case.reply))
    gaps = [0.0] + [
        rng.uniform(5, 40) if (kind == "chat" and a == b == "C") else _gap(rng, kind, b == "A")
        for (a, _), (b, _) in zip(texts, texts[1:], strict=False)
    ]
    # Keep the whole thread inside the day: squeeze long threads, shorten the quiet time.
    squeeze = min(1.0, 0.8 * DAY / sum(gaps)) if sum(gaps) else 1.0
    gaps = [gap * squeeze for gap in gaps]
    start = now - min(_quiet_time(rng), DAY - sum(gaps)) - sum(gaps)
    attachment = topic.attachment if rng.random() < 0.3 else None
    messages: list[InboundMessage] = []
    sent_at = start
    for number, ((who, text), gap) in enumerate(zip(texts, gaps, strict=True)):
        sent_at += gap
        if who == "A":
            body = agent_body(kind, text, values)
            messages.append(thread.from_agent(number, agent_name, body, sent_at))
        elif who == "B":
            bystander = person(rng.randrange(1, POOL_SIZE))
            messages.append(
                thread.from_customer(number, render(text, values), sent_at, author=bystander)
            )
        else:
            body = customer_body(kind, text, values, rng)
            messages.append(
                thread.from_customer(
                    number, body, sent_at, attachment=attachment if number == 0 else None
                )
            )
    return tuple(messages), case, values


def plan_day(now: float, seed: int, agent: str) -> tuple[SeedConversation, ...]:
    """The whole seeded day for the current ``agent``, in channel order."""
    rng = random.Random(f"demo-day:{seed}")
    slots = _slots(rng)
    names = {agent: agent, **TEAMMATES}
    team = [agent, agent, *TEAMMATES]  # the current agent holds the most
    planned: list[SeedConversation] = []
    for channel, kind, count in CHANNELS:
        replies = list(RECENT_REPLIES[kind])
        statuses = list(STATUS_PATTERN)
        rng.shuffle(statuses)
        topics = list(TOPICS)
        for index in range(count):
            if index % len(topics) == 0:
                rng.shuffle(topics)
            topic, status = topics[index % len(topics)], statuses[index % len(statuses)]
            slot = slots[kind][index]
            untriaged = status == "open" and rng.random() < UNTRIAGED_SHARE
            assignee = None if untriaged else rng.choice(team)
            writer = names[assignee] if assignee else names[rng.choice(team)]
            key = f"seed{seed}-{kind}-{index}"
            messages, case, values = _conversation(rng, key, slot, topic, status, now, writer)
            tags = () if untriaged else topic.tags + (("vip",) if slot.customer.vip else ())
            priority = 2 if untriaged else topic.priority
            if not untriaged and slot.customer.vip:
                priority = min(priority, 1)
            note = (
                render(rng.choice(topic.notes), values)
                if (not untriaged and rng.random() < NOTE_SHARE)
                else None
            )
            reply = None
            if status == "open" and assignee == agent and replies:
                outcome = replies.pop()
                body = agent_body(kind, case.reply, {**values, "agent_name": agent})
                failure = FAILURE_REASONS[kind] if outcome == "failed" else None
                reply = SeedReply(body, outcome, failure)
            snooze_until = now + rng.uniform(HOUR, 20 * HOUR) if status == "snoozed" else None
            planned.append(
                SeedConversation(
                    channel,
                    messages,
                    status=status,
                    priority=priority,
                    assignee=assignee,
                    tags=tags,
                    snooze_until=snooze_until,
                    note=note,
                    reply=reply,
                )
            )
    return tuple(planned)
