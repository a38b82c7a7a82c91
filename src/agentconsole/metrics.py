"""The measures support teams run on, per channel: backlog, first response time, resolution
time, first-contact resolution and SLA breaches.

Computed from per-conversation timings the store hands over (no SQL here); medians and
percentiles in Python, since SQLite has none and the rows are few per channel.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .models import ACTIVE_STATUSES, ConversationTiming
from .sla.report import breached


@dataclass(slots=True)
class ChannelMetrics:
    channel: str
    kind: str
    #: Conversations created in the period.
    new: int = 0
    #: Active (open or pending) right now.
    backlog: int = 0
    #: Seconds the longest-waiting customer has waited, now.
    oldest_wait: float | None = None
    first_responses: list[float] = field(default_factory=list)
    resolutions: list[float] = field(default_factory=list)
    #: Resolved with a single reply (first-contact resolution).
    one_touch: int = 0
    #: First response later than the target, or still unanswered past it.
    breaches: int = 0

    @staticmethod
    def _median(values: Sequence[float]) -> float | None:
        return statistics.median(values) if values else None

    @property
    def median_first_response(self) -> float | None:
        return self._median(self.first_responses)

    @property
    def median_resolution(self) -> float | None:
        return self._median(self.resolutions)

    @property
    def first_contact_resolution(self) -> float | None:
        return self.one_touch / len(self.resolutions) if self.resolutions else None

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "channel_type": self.kind,
            "new": self.new,
            "backlog": self.backlog,
            "oldest_wait_seconds": _round(self.oldest_wait),
            "replied": len(self.first_responses),
            "median_first_response_seconds": _round(self.median_first_response),
            "resolved": len(self.resolutions),
            "median_resolution_seconds": _round(self.median_resolution),
            "first_contact_resolution": _round(self.first_contact_resolution, 3),
            "sla_breaches": self.breaches,
        }


def _round(value: float | None, digits: int = 0) -> float | None:
    return None if value is None else round(value, digits)


def compute(
    timings: Iterable[ConversationTiming],
    *,
    since: float,
    now: float,
    first_response_target: float | None,
    sla_policies: bool = False,
) -> list[ChannelMetrics]:
    """Metrics per channel from ``Store.conversation_timings(since)``, plus a total. With
    ``sla_policies`` (``[[sla]]`` is configured) a breach is what the stored due times say
    (a target missed, or past due now; see :mod:`agentconsole.sla`); otherwise a first
    response later than ``first_response_target``."""
    by_channel: dict[str, ChannelMetrics] = {}
    total = ChannelMetrics("all channels", "")
    for timing in timings:
        metrics = by_channel.setdefault(
            timing.channel, ChannelMetrics(timing.channel, timing.channel_kind)
        )
        for target in (metrics, total):
            _add(
                target,
                timing,
                since=since,
                now=now,
                first_response_target=first_response_target,
                sla_policies=sla_policies,
            )
    return [*sorted(by_channel.values(), key=lambda m: m.channel), total]


def _add(
    metrics: ChannelMetrics,
    timing: ConversationTiming,
    *,
    since: float,
    now: float,
    first_response_target: float | None,
    sla_policies: bool,
) -> None:
    created, first_response, resolved = (
        timing.created_at,
        timing.first_response_at,
        timing.resolved_at,
    )
    status, waiting = timing.status, timing.waiting_since
    if status in ACTIVE_STATUSES:
        metrics.backlog += 1
        if waiting is not None:
            metrics.oldest_wait = max(metrics.oldest_wait or 0.0, now - waiting)
    if created < since:
        return
    metrics.new += 1
    if first_response is not None:
        metrics.first_responses.append(max(0.0, first_response - created))
    if resolved is not None and status == "closed":
        metrics.resolutions.append(max(0.0, resolved - created))
        if timing.replies == 1:
            metrics.one_touch += 1
    if sla_policies:
        metrics.breaches += breached(timing, now)
    elif first_response_target is not None:
        if first_response is not None:
            late = first_response - created > first_response_target
        else:  # still waiting for a first answer (a conversation closed unanswered is not)
            late = status in ACTIVE_STATUSES and now - created > first_response_target
        metrics.breaches += late
