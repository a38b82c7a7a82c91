"""Business hours: when the support team works, and clocks that only run while it does.

A calendar is a time zone, opening hours per weekday (several ranges a day allowed, e.g. a
lunch break) and holidays. Times in and out are Unix timestamps; each day's hours are turned
into instants in the calendar's zone, so a daylight-saving change moves the hours with the
wall clock (an 08:00-18:00 day is 10 hours on both sides of it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
#: A calendar with no open hour in this many days is a mistake, not a long weekend.
_SEARCH_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Calendar:
    """Opening hours. ``week[i]`` are the (start, end) ranges of weekday ``i`` (Monday 0)."""

    zone: ZoneInfo
    week: tuple[tuple[tuple[time, time], ...], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def open_ranges(self, start: float) -> Iterator[tuple[float, float]]:
        """The open (from, to) instants from the day of ``start`` on, in order; the first
        may begin before ``start``."""
        day = datetime.fromtimestamp(start, self.zone).date()
        for offset in range(_SEARCH_DAYS):
            current = day + timedelta(days=offset)
            if current in self.holidays:
                continue
            for opens, closes in self.week[current.weekday()]:
                yield (
                    datetime.combine(current, opens, self.zone).timestamp(),
                    datetime.combine(current, closes, self.zone).timestamp(),
                )

    def add(self, start: float, seconds: float) -> float:
        """The instant ``seconds`` of open time after ``start`` (a due time)."""
        left = max(0.0, seconds)
        for opens, closes in self.open_ranges(start):
            begin = max(opens, start)
            if closes <= begin:
                continue
            if begin + left <= closes:
                return begin + left
            left -= closes - begin
        raise ConfigError("the business hours have no open hour in ten years")

    def elapsed(self, start: float, end: float) -> float:
        """Seconds of open time between ``start`` and ``end`` (0 when ``end`` is earlier)."""
        total = 0.0
        if end <= start:
            return total
        for opens, closes in self.open_ranges(start):
            if opens >= end:
                break
            total += max(0.0, min(closes, end) - max(opens, start))
        return total


@dataclass(frozen=True, slots=True)
class AlwaysOpen:
    """The clock of a policy with ``business_hours = false``: every second counts."""

    def add(self, start: float, seconds: float) -> float:
        return start + max(0.0, seconds)

    def elapsed(self, start: float, end: float) -> float:
        return max(0.0, end - start)


Clock = Calendar | AlwaysOpen


def calendar_from_config(table: Mapping[str, object], where: str) -> Calendar:
    """A calendar from a ``[business_hours]`` table; ``where`` names it in errors
    (``config.toml [business_hours]``). Raises :class:`ConfigError` naming key and fix."""
    known = {"timezone", "week", "holidays"}
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    zone_name = table.get("timezone", "UTC")
    if not isinstance(zone_name, str):
        raise ConfigError(f'{where}: timezone must be a name such as "Europe/Warsaw"')
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'{where}: unknown timezone {zone_name!r} (an IANA name such as "Europe/Warsaw")'
        ) from None
    week_table = table.get("week", {})
    if not isinstance(week_table, Mapping):
        raise ConfigError(f'{where}: week must be a table, e.g. {{ mon = "08:00-18:00" }}')
    week: list[tuple[tuple[time, time], ...]] = []
    for day in WEEKDAYS:
        value = week_table.get(day, "")
        week.append(_ranges(value, f"{where} week.{day}"))
    for day in week_table:
        if day not in WEEKDAYS:
            raise ConfigError(f"{where}: unknown day {day!r} in week (use {', '.join(WEEKDAYS)})")
    if not any(week):
        raise ConfigError(f"{where}: week has no open hours")
    return Calendar(zone, tuple(week), frozenset(_holidays(table.get("holidays", []), where)))


def _ranges(value: object, where: str) -> tuple[tuple[time, time], ...]:
    """``"08:00-12:00, 13:00-18:00"`` (or a list of such strings) as (start, end) times."""
    parts: Iterable[object] = value if isinstance(value, list) else str(value).split(",")
    ranges = []
    for part in parts:
        text = str(part).strip()
        if not text:
            continue
        match = _RANGE.match(text)
        if not match:
            raise ConfigError(f'{where}: {text!r} is not a range like "08:00-18:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            opens = time(h1, m1)
            closes = time(23, 59, 59, 999999) if (h2, m2) == (24, 0) else time(h2, m2)
        except ValueError:
            raise ConfigError(f"{where}: {text!r} is not a time of day") from None
        if closes <= opens:
            raise ConfigError(f"{where}: {text!r} ends before it starts")
        ranges.append((opens, closes))
    ranges.sort()
    for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
        if start < end:
            raise ConfigError(f"{where}: the ranges {value!r} overlap")
    return tuple(ranges)


def _holidays(value: object, where: str) -> Iterator[date]:
    if not isinstance(value, list):
        raise ConfigError(f'{where}: holidays must be a list of dates, e.g. ["2026-12-24"]')
    for item in value:
        if isinstance(item, date):
            yield item
            continue
        try:
            yield date.fromisoformat(str(item))
        except ValueError:
            raise ConfigError(f"{where}: holiday {item!r} is not a date like 2026-12-24") from None
