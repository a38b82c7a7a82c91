"""A deterministic stream of normalized inbound messages for benchmarks and large-store tests.

``messages(conversations, per_conversation)`` yields threads across an email, a chat and a
forum channel, with a pool of customers (some on several channels), realistic word mixes
(so a common word such as "account" hits a large share of messages) and times spread over a
year. Nothing is written to disk; the same arguments always give the same messages.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from agentconsole.plugin import Author, Identity, InboundMessage
from agentconsole.store import Store

CHANNELS = (("bench-email", "email"), ("bench-chat", "chat"), ("bench-forum", "forum"))
COMMON = "account"
RARE = "quokka"
WORDS = [
    "the",
    "a",
    "to",
    "and",
    "of",
    "my",
    "is",
    "it",
    "for",
    "in",
    "on",
    "with",
    "this",
    "that",
    "not",
    "can",
    "you",
    "we",
    "please",
    "order",
    "invoice",
    "payment",
    "refund",
    "login",
    "password",
    "error",
    "page",
    "app",
    "update",
    "shipping",
    "delivery",
    "card",
    "charge",
    "subscription",
    "plan",
    "upgrade",
    "cancel",
    "export",
    "import",
    "report",
    "settings",
    "email",
    "phone",
    "browser",
    "mobile",
    "sync",
    "data",
    "backup",
    "team",
    "user",
    "admin",
    "access",
    "permission",
    "billing",
    "tracking",
    "package",
    "warehouse",
    "address",
    "label",
    "discount",
    "coupon",
    "trial",
    "renewal",
    "receipt",
    "crash",
    "slow",
    "timeout",
    "bug",
    "feature",
    "request",
    "help",
    "thanks",
    "urgent",
    "again",
    "still",
    "since",
    "today",
]
START = datetime(2025, 1, 1, tzinfo=UTC)


def _body(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(25, 120))
    if rng.random() < 0.4:
        words.insert(rng.randrange(len(words)), COMMON)
    if rng.random() < 0.001:
        words.insert(rng.randrange(len(words)), RARE)
    sentences = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, len(words), 12)]
    return "\n".join(sentences)


def messages(
    conversations: int, per_conversation: int = 5, seed: int = 7
) -> Iterator[tuple[str, InboundMessage]]:
    """(channel name, message) pairs, in arrival order."""
    rng = random.Random(seed)
    customers = max(50, conversations // 3)
    span = timedelta(days=365).total_seconds()
    for index in range(conversations):
        channel, kind = CHANNELS[index % len(CHANNELS)]
        person = rng.randrange(customers)
        email = Identity("email", f"customer{person}@example.com")
        if kind == "email":
            identities: tuple[Identity, ...] = (email,)
        else:
            handle = Identity(f"bench-{kind}", f"user{person}")
            identities = (handle, email) if person % 4 == 0 else (handle,)
        author = Author(f"Customer {person}", identities)
        started = START + timedelta(seconds=span * index / conversations)
        count = max(1, int(rng.gauss(per_conversation, 1.5)))
        subject = " ".join(rng.choices(WORDS, k=rng.randint(3, 7))).capitalize()
        previous: str | None = None
        for position in range(count):
            external_id = f"<{index}.{position}@bench.example>"
            yield (
                channel,
                InboundMessage(
                    external_id=external_id,
                    author=author,
                    body=_body(rng),
                    sent_at=started + timedelta(minutes=37 * position),
                    subject=subject if kind != "chat" else "",
                    thread_key=None if kind == "email" else f"t{index}",
                    references=(previous,) if previous and kind == "email" else (),
                    from_agent=position % 2 == 1,
                ),
            )
            previous = external_id


async def ingest_all(
    store: Store, conversations: int, per_conversation: float, batch: int = 2000
) -> tuple[int, float]:
    """Ingest the stream into ``store`` (its channels created by the caller) ``batch``
    messages at a time; returns (messages, seconds spent in ingest alone)."""
    stream = messages(conversations, per_conversation)
    total, seconds = 0, 0.0
    while True:
        chunk: dict[str, list[InboundMessage]] = {}
        count = 0
        for channel, message in stream:
            chunk.setdefault(channel, []).append(message)
            count += 1
            if count >= batch:
                break
        if not count:
            return total, seconds
        started = time.perf_counter()
        for channel, part in chunk.items():
            await store.ingest(channel, part, None, update_cursor=False)
        seconds += time.perf_counter() - started
        total += count
