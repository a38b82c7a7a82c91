"""Business hours: when the support team works, and clocks that only run while it does.

A calendar is a time zone, opening hours per weekday (several ranges a day allowed, e.g. a
lunch break) and holidays. Times in and out are Unix timestamps; each day's hours are turned
into instants in the calendar's zone, so a daylight-saving change moves the hours with the
wall clock (an 08:00-18:00 day is 10 hours on both sides of it).
"""

from __future__ import annotations

import bisect
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
#: Days of open ranges a timeline lays out at a time.
_STRETCH_DAYS = 400


class _Timeline:
    """A calendar's open ranges laid out from a first day on, with the open seconds before
    each: a due time or an elapsed time is two binary searches, not a walk over the days
    (recomputing a whole store's due times asks the same calendar 100,000 times). Grown
    forward on demand; laid out again from an earlier day when asked about one."""

    __slots__ = (
        "calendar",
        "first_day",
        "first_instant",
        "next_day",
        "opens",
        "closes",
        "before",
        "after",
    )

    def __init__(self, calendar: Calendar, first_day: date) -> None:
        self.calendar = calendar
        self.first_day = self.next_day = first_day
        #: Where the first day begins: any later instant is on the timeline.
        self.first_instant = datetime.combine(first_day, time(0), calendar.zone).timestamp()
        self.opens: list[float] = []
        self.closes: list[float] = []
        #: Open seconds from the first day up to the start, and the end, of each range.
        self.before: list[float] = []
        self.after: list[float] = []

    def grow(self) -> None:
        """Lay out the next :data:`_STRETCH_DAYS` days. Raises :class:`ConfigError` when
        ten years hold no open hour."""
        calendar = self.calendar
        total = self.after[-1] if self.after else 0.0
        day = self.next_day
        for _ in range(_STRETCH_DAYS):
            if day not in calendar.holidays:
                for opens, closes in calendar.week[day.weekday()]:
                    begin = datetime.combine(day, opens, calendar.zone).timestamp()
                    end = datetime.combine(day, closes, calendar.zone).timestamp()
                    self.opens.append(begin)
                    self.closes.append(end)
                    self.before.append(total)
                    total += end - begin
                    self.after.append(total)
            day += timedelta(days=1)
        self.next_day = day
        if not self.opens and (day - self.first_day).days >= _SEARCH_DAYS:
            raise ConfigError("the business hours have no open hour in ten years")

    def open_before(self, instant: float) -> float:
        """Open seconds from the first day up to ``instant`` (laid out far enough)."""
        while not self.closes or self.closes[-1] < instant:
            self.grow()
        index = bisect.bisect_right(self.opens, instant) - 1
        if index < 0:
            return 0.0
        return self.before[index] + min(instant, self.closes[index]) - self.opens[index]

    def instant_after(self, open_seconds: float) -> float:
        """The first instant at which ``open_seconds`` of open time from the first day have
        run (the end of a range, not the next opening, when it falls exactly there)."""
        while not self.after or self.after[-1] < open_seconds:
            if (self.next_day - self.first_day).days > _SEARCH_DAYS + _STRETCH_DAYS:
                raise ConfigError("the business hours have no open hour in ten years")
            self.grow()
        index = bisect.bisect_left(self.after, open_seconds)
        return self.opens[index] + max(0.0, open_seconds - self.before[index])


@dataclass(frozen=True, slots=True)
class Calendar:
    """Opening hours. ``week[i]`` are the (start, end) ranges of weekday ``i`` (Monday 0)."""

    zone: ZoneInfo
    week: tuple[tuple[tuple[time, time], ...], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)
    #: The laid-out open ranges (see :class:`_Timeline`), made on first use.
    _timeline: list[_Timeline] = field(default_factory=list, compare=False, hash=False, repr=False)

    def _line(self, start: float) -> _Timeline:
        """The timeline, laid out from a day no later than ``start``'s."""
        if self._timeline and start >= self._timeline[0].first_instant:
            return self._timeline[0]
        day = datetime.fromtimestamp(start, self.zone).date()
        if not self._timeline or self._timeline[0].first_day > day:
            # A week of margin, so times a little earlier do not lay it out again.
            self._timeline[:] = [_Timeline(self, day - timedelta(days=7))]
        return self._timeline[0]

    def open_ranges(self, start: float) -> Iterator[tuple[float, float]]:
        """The open (from, to) instants from the day of ``start`` on, in order; the first
        may begin before ``start``."""
        line = self._line(start)
        line.open_before(start)
        index = max(0, bisect.bisect_right(line.closes, start))
        day = datetime.fromtimestamp(start, self.zone).date()
        first = datetime.combine(day, time(0), self.zone).timestamp()
        while index > 0 and line.closes[index - 1] > first:
            index -= 1
        while (line.next_day - line.first_day).days <= _SEARCH_DAYS + _STRETCH_DAYS:
            while index < len(line.opens):
                yield line.opens[index], line.closes[index]
                index += 1
            line.grow()

    def add(self, start: float, seconds: float) -> float:
        """The instant ``seconds`` of open time after ``start`` (a due time)."""
        line = self._line(start)
        return max(start, line.instant_after(line.open_before(start) + max(0.0, seconds)))

    def elapsed(self, start: float, end: float) -> float:
        """Seconds of open time between ``start`` and ``end`` (0 when ``end`` is earlier)."""
        if end <= start:
            return 0.0
        line = self._line(start)
        return line.open_before(end) - line.open_before(start)


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
