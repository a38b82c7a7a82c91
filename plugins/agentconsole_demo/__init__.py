"""The demo channel: a simulated support inbox that needs no account.

New customer messages arrive every ``interval`` seconds (new conversations and follow-ups in
earlier ones), and a reply sent on the channel is answered by the "customer"
``reply_delay`` seconds later. Messages are a pure function of the cursor, so a re-fetch after
a crash yields the same external ids and the core stores them once. Every 7th reply fails
once with a :class:`TemporaryError`, so agents see the retry machinery at work.

Answers to replies are kept in memory until a fetch with a cursor that acknowledges them:
they survive a batch the core did not commit, not a restart of the process (it is a demo).

The plugin offers ``agentconsole demo`` its three channels and a seeded support day
(:mod:`.plan`), which the core writes into the demo store before the channels start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from agentconsole.plugin import (
    Capabilities,
    ChannelContext,
    ChannelKind,
    ChannelPlugin,
    FetchResult,
    InboundMessage,
    Option,
    OutboundMessage,
    PermanentError,
    SeedConversation,
    SendResult,
    TemporaryError,
)

from .plan import DEMO_CHANNELS, plan_day
from .stream import LiveStream, customer_answer

__all__ = ["DemoChannel"]

KINDS = ("email", "chat", "forum")
#: The first attempt of every this-many-th reply fails with a TemporaryError.
FLAKY_EVERY = 7
#: Most messages returned by one fetch; ``more`` asks for the rest at once.
BATCH = 50
#: After a long pause the stream skips ahead rather than replaying hours of invented mail.
MAX_BACKLOG = 20


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Where the stream stands: its start time and the next message number. ``session`` and
    ``fetch`` say which fetch of which channel instance produced it, which acknowledges the
    customer answers that fetch delivered."""

    start: float
    next: int
    session: str = ""
    fetch: int = 0

    def encode(self) -> str:
        return json.dumps(
            {"start": self.start, "next": self.next, "session": self.session, "fetch": self.fetch}
        )

    @classmethod
    def decode(cls, text: str) -> _Cursor:
        data = json.loads(text)
        return cls(
            float(data["start"]), int(data["next"]), str(data["session"]), int(data["fetch"])
        )


@dataclass(slots=True)
class _PendingAnswer:
    due: float
    message: InboundMessage
    delivered_in: int | None = None  # number of the fetch that last returned it


class DemoChannel(ChannelPlugin):
    """A simulated email, chat or forum channel (option ``kind``)."""

    type_name = "demo"
    kind: ChannelKind = "email"  # the default; an instance takes its ``kind`` option
    capabilities = Capabilities(reply=True, attachments=True, threads=True, push=True)
    options = (
        Option("kind", str, "which kind of channel to simulate", default="email", choices=KINDS),
        Option("interval", float, "seconds between new customer messages", default=8.0),
        Option("reply_delay", float, "seconds before a customer answers a reply", default=5.0),
        Option("seed", int, "varies the invented messages", default=1),
    )
    poll_interval = 5.0
    demo_channels = DEMO_CHANNELS

    @classmethod
    def seed_plan(cls, now: float, seed: int, agent: str) -> tuple[SeedConversation, ...]:
        """About 360 conversations over the day before ``now`` on the three demo channels,
        triaged by ``agent`` and three teammates (maria, kenji, priya)."""
        return plan_day(now, seed, agent)

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        given: dict[str, Any] = {
            o.name: context.options.get(o.name, o.default) for o in self.options
        }
        if given["kind"] not in KINDS:
            raise PermanentError(
                f"[channels.{context.name}] kind = {given['kind']!r}: use one of {', '.join(KINDS)}"
            )
        for name in ("interval", "reply_delay"):
            if not float(given[name]) > 0:
                raise PermanentError(f"[channels.{context.name}] {name} must be more than 0")
        self.kind = given["kind"]
        self.interval = float(given["interval"])
        self.reply_delay = float(given["reply_delay"])
        self.seed = int(given["seed"])
        self._stream = LiveStream(self.kind, self.seed, self.interval)
        self._session = secrets.token_hex(4)
        self._fetches = 0
        self._position: _Cursor | None = None  # what the last fetch returned
        self._answers: dict[str, _PendingAnswer] = {}  # by external id
        self._sent: dict[str, SendResult] = {}
        self._reply_numbers: dict[str, int] = {}
        self._attempts: dict[str, int] = {}
        self._wake = asyncio.Event()

    # -- fetching --------------------------------------------------------------------------

    def _read_cursor(self, cursor: str | None, now: float) -> _Cursor:
        if cursor is not None:
            try:
                return _Cursor.decode(cursor)
            except (ValueError, KeyError, TypeError):
                self.log.warning(
                    "%s: unreadable demo cursor %r, starting afresh", self.name, cursor
                )
        return _Cursor(start=now, next=0)

    def _acknowledge(self, cursor: _Cursor) -> None:
        """Forget the answers whose batch the core committed (the cursor proves it)."""
        if cursor.session != self._session:
            return
        for external_id, answer in list(self._answers.items()):
            if answer.delivered_in is not None and answer.delivered_in <= cursor.fetch:
                del self._answers[external_id]

    async def fetch(self, cursor: str | None) -> FetchResult:
        """The customer answers now due and the stream's messages due since ``cursor``."""
        now = time.time()
        position = self._read_cursor(cursor, now)
        self._acknowledge(position)
        self._fetches += 1
        answers = sorted((a for a in self._answers.values() if a.due <= now), key=lambda a: a.due)
        for answer in answers:
            answer.delivered_in = self._fetches
        first = max(position.next, self._stream.index_due_at(position.start, now) - MAX_BACKLOG)
        numbers: list[int] = []
        n = first
        while len(numbers) < BATCH and self._stream.due(position.start, n) <= now:
            numbers.append(n)
            n += 1
        messages = [a.message for a in answers]
        messages += [self._stream.message(position.start, number) for number in numbers]
        self._position = _Cursor(position.start, n, self._session, self._fetches)
        more = self._stream.due(position.start, n) <= now
        return FetchResult(tuple(messages), self._position.encode(), more=more)

    def _next_activity(self) -> float:
        if self._position is None:
            return 0.0
        due = self._stream.due(self._position.start, self._position.next)
        pending = [a.due for a in self._answers.values() if a.delivered_in is None]
        return min([due, *pending])

    async def wait_for_activity(self, timeout: float) -> None:
        """Sleep until the next message or customer answer is due (a reply sent meanwhile
        may bring that time forward), or ``timeout`` seconds."""
        deadline = time.time() + timeout
        while True:
            delay = min(self._next_activity(), deadline) - time.time()
            if delay <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    # -- sending ----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        """Record the reply and have the customer answer it after ``reply_delay`` seconds.

        Idempotent per ``idempotency_key``: sending again returns the first result and
        schedules no second answer. The first attempt of every 7th reply raises
        :class:`TemporaryError`.
        """
        key = message.idempotency_key
        earlier = self._sent.get(key)
        if earlier is not None:
            return earlier
        if not message.recipients:
            raise PermanentError("this reply has no recipient: the conversation has no customer")
        number = self._reply_numbers.setdefault(key, len(self._reply_numbers) + 1)
        self._attempts[key] = self._attempts.get(key, 0) + 1
        if number % FLAKY_EVERY == 0 and self._attempts[key] == 1:
            raise TemporaryError(
                "demo: the channel timed out (simulated on the first attempt of every "
                f"{FLAKY_EVERY}th reply; it will be retried)",
                retry_after=1.0,
            )
        result = SendResult(external_id=f"demo-out-{key}")
        self._sent[key] = result
        due = time.time() + self.reply_delay
        answer = customer_answer(self.kind, message, result.external_id, due)
        self._answers[answer.external_id] = _PendingAnswer(due, answer)
        self._wake.set()
        return result

    async def find_sent(self, message: OutboundMessage) -> SendResult | None:
        """The result of an earlier successful send of the same reply, if any."""
        return self._sent.get(message.idempotency_key)
