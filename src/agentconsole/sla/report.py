"""SLA breaches per policy and channel, for ``agentconsole report``: how many conversations
each policy held, how many missed a target, and the median first response measured on the
policy's own clock (business hours unless the policy says otherwise)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..models import ConversationTiming
from .policies import SlaSettings

#: The channel of a policy's total line.
ALL_CHANNELS = "all channels"


@dataclass(slots=True)
class PolicyBreaches:
    """One policy on one channel (or :data:`ALL_CHANNELS`) over the report's period."""

    policy: str
    channel: str
    business_hours: bool
    conversations: int = 0
    breached: int = 0
    #: First response times on the policy's clock, in seconds.
    first_responses: list[float] = field(default_factory=list)

    @property
    def median_first_response(self) -> float | None:
        return statistics.median(self.first_responses) if self.first_responses else None

    def as_json(self) -> dict[str, Any]:
        median = self.median_first_response
        return {
            "policy": self.policy,
            "channel": self.channel,
            "business_hours": self.business_hours,
            "conversations": self.conversations,
            "sla_breaches": self.breached,
            "median_first_response_seconds": None if median is None else round(median),
        }


def breached(timing: ConversationTiming, now: float) -> bool:
    """A target of the conversation was missed, or its current one is past due at ``now``."""
    if timing.sla is None:
        return False
    return timing.sla_missed or (timing.sla_due_at is not None and timing.sla_due_at <= now)


def breaches_by_policy(
    timings: Iterable[ConversationTiming], settings: SlaSettings, *, since: float, now: float
) -> list[PolicyBreaches]:
    """Per policy (in the config's order), one entry per channel and a total, for the
    conversations created since ``since`` that a policy covers."""
    table: dict[tuple[str, str], PolicyBreaches] = {}
    for timing in timings:
        policy = settings.by_name(timing.sla)
        if policy is None or timing.created_at < since:
            continue
        clock = settings.clock(policy)
        for channel in (timing.channel, ALL_CHANNELS):
            entry = table.setdefault(
                (policy.name, channel), PolicyBreaches(policy.name, channel, policy.business_hours)
            )
            entry.conversations += 1
            entry.breached += breached(timing, now)
            if timing.first_response_at is not None:
                entry.first_responses.append(
                    clock.elapsed(timing.created_at, timing.first_response_at)
                )
    order = {policy.name: index for index, policy in enumerate(settings.policies)}
    return sorted(
        table.values(),
        key=lambda e: (order[e.policy], e.channel == ALL_CHANNELS, e.channel),
    )
