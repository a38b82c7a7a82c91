"""SLA clocks (core, no Textual): business-hours calendars, policies from ``[[sla]]`` and
the due times they give a conversation."""

from __future__ import annotations

from .business_hours import AlwaysOpen, Calendar, Clock, calendar_from_config
from .policies import Policy, SlaSettings, settings_from_config

__all__ = [
    "AlwaysOpen",
    "Calendar",
    "Clock",
    "Policy",
    "SlaSettings",
    "calendar_from_config",
    "settings_from_config",
]
