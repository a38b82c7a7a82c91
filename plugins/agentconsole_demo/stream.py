"""The live trickle: message number ``n`` of a demo channel, computed from ``n`` alone.

Nothing here depends on what was fetched before, so fetching again from an old cursor
rebuilds exactly the same messages (same external ids), which is what lets the core drop the
duplicates. About a third of the messages are follow-ups in a conversation started a few
messages earlier; the rest start new conversations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from agentconsole.plugin import Author, InboundMessage, OutboundMessage

from .content import (
    FOLLOW_UP_QUESTIONS,
    FORUM_ME_TOO,
    NUDGES,
    THANKS,
    customer_body,
    fill_ins,
    render,
)
from .people import POOL_SIZE, find_person, person
from .threads import Thread, reply_subject, timestamp
from .topics import TOPICS, Topic

FOLLOW_UP_SHARE = 0.3
#: A follow-up answers one of the conversations started this many messages back, at most.
LOOKBACK = 12
#: Chat and forum users who also give their mail address (so the core merges them).
WITH_EMAIL_SHARE = 0.35
ATTACHMENT_SHARE = 0.3
THANKS_SHARE = 0.6
#: Message ``n`` is due ``interval * (n + JITTER * u)`` after the start, u in [0, 1):
#: irregular like real traffic, yet always in order.
JITTER = 0.8


@dataclass(frozen=True, slots=True)
class LiveStream:
    """The deterministic message sequence of one demo channel."""

    kind: str
    seed: int
    interval: float

    def _rng(self, n: int, purpose: str) -> random.Random:
        return random.Random(f"live:{self.seed}:{self.kind}:{n}:{purpose}")

    def due(self, start: float, n: int) -> float:
        """When message ``n`` arrives, for a stream that started at ``start``."""
        return start + self.interval * (n + JITTER * self._rng(n, "due").random())

    def index_due_at(self, start: float, when: float) -> int:
        """Roughly the index of the newest message due at ``when`` (for skipping a backlog)."""
        return int((when - start) / self.interval)

    def _is_follow_up(self, n: int) -> bool:
        return n >= 2 and self._rng(n, "shape").random() < FOLLOW_UP_SHARE

    def _starter_for(self, n: int) -> int | None:
        starters = [m for m in range(max(0, n - LOOKBACK), n) if not self._is_follow_up(m)]
        return self._rng(n, "starter").choice(starters) if starters else None

    def _begin(
        self, m: int, sent_at: float
    ) -> tuple[Thread, Topic, dict[str, str], InboundMessage]:
        """The conversation message ``m`` starts: its thread (opening posted), topic,
        template values and the opening itself."""
        rng = self._rng(m, "conversation")
        who = person(rng.randrange(POOL_SIZE))
        topic = rng.choice(TOPICS)
        values = fill_ins(rng, who.name, who.email)
        with_email = self.kind != "email" and rng.random() < WITH_EMAIL_SHARE
        case = rng.choice(topic.cases)
        subject = render(case.subject, values)
        thread = Thread(self.kind, f"live{self.seed}-{m}", subject, who, with_email)
        text = case.opening(self.kind)
        attachment = topic.attachment if rng.random() < ATTACHMENT_SHARE else None
        body = customer_body(self.kind, text, values, rng)
        opening = thread.from_customer(0, body, sent_at, attachment=attachment)
        return thread, topic, values, opening

    def message(self, start: float, n: int) -> InboundMessage:
        """Message ``n`` of the stream that started at ``start``."""
        sent_at = self.due(start, n)
        starter = self._starter_for(n) if self._is_follow_up(n) else None
        if starter is None:
            return self._begin(n, sent_at)[3]
        thread, topic, values, _ = self._begin(starter, self.due(start, starter))
        rng = self._rng(n, "text")
        if self.kind == "forum" and rng.random() < 0.3:
            bystander = person(rng.randrange(POOL_SIZE))
            text = render(rng.choice(FORUM_ME_TOO), values)
            return thread.from_customer(n, text, sent_at, author=bystander)
        text = rng.choice(topic.followups + NUDGES)
        return thread.from_customer(n, customer_body(self.kind, text, values, rng), sent_at)


def customer_answer(
    kind: str, reply: OutboundMessage, sent_id: str, sent_at: float
) -> InboundMessage:
    """What the customer writes back after the agent's ``reply`` (delivered as ``sent_id``):
    usually thanks, sometimes another question, threaded under the reply."""
    rng = random.Random(f"answer:{reply.idempotency_key}")
    recipient = reply.recipients[0]
    known = find_person(recipient)
    name = known.name if known else recipient.address.partition("@")[0]
    email = known.email if known else recipient.address
    values = fill_ins(rng, name, email)
    values["agent_first"] = (reply.author_name.split() or ["team"])[0]
    pool = THANKS if rng.random() < THANKS_SHARE else FOLLOW_UP_QUESTIONS
    body = customer_body(kind, rng.choice(pool), values, rng)
    references = tuple(
        dict.fromkeys((*reply.references, *filter(None, [reply.in_reply_to]), sent_id))
    )
    key = reply.idempotency_key
    if kind == "email":
        external_id = f"<demo-answer-{key}@{email.rpartition('@')[2] or 'mail.example'}>"
        subject = reply_subject(reply.subject)
    else:
        external_id = f"demo-answer-{key}"
        subject = reply.subject if kind == "forum" else ""
    return InboundMessage(
        external_id=external_id,
        author=Author(name, (recipient,)),
        body=body,
        sent_at=timestamp(sent_at),
        subject=subject,
        thread_key=reply.thread_key,
        references=references,
    )
