"""SLA clocks (core, no Textual): business-hours calendars; policies and due times follow."""

from __future__ import annotations

from .business_hours import AlwaysOpen, Calendar, Clock, calendar_from_config

__all__ = ["AlwaysOpen", "Calendar", "Clock", "calendar_from_config"]
