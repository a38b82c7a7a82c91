"""A reply waiting out its undo window, as the console counts it down.

The store holds the reply (no sender takes it before its ``next_attempt_at``); this is only
the screen's view of it: which message, and when the offer to take it back ends. The
countdown runs on the monotonic clock, so the console's injectable wall clock (frozen in
tests and snapshots) never stretches it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class HeldReply:
    message_id: int
    conversation_id: int
    channel: str | None
    #: ``time.monotonic()`` when the window ends.
    ends_at: float
    #: The bulk action it was sent with (a saved reply to marked conversations): ``u``
    #: takes back every reply of the batch at once. ``None`` for a reply on its own.
    batch: int | None = None

    #: Seconds between two looks at the countdown.
    TICK: ClassVar[float] = 0.5

    @classmethod
    def starting(
        cls,
        message_id: int,
        conversation_id: int,
        channel: str | None,
        seconds: float,
        batch: int | None = None,
    ) -> HeldReply:
        return cls(message_id, conversation_id, channel, time.monotonic() + seconds, batch)

    def seconds_left(self) -> int:
        return max(0, math.ceil(self.ends_at - time.monotonic()))

    def over(self) -> bool:
        return time.monotonic() >= self.ends_at
