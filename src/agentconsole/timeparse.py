"""Natural-language times for snoozing: "in 2h", "tomorrow 9am", "mon", "next week",
"17:30", "2026-12-01 10:00", and for search bounds ("yesterday", "mon", "2026-11-01").
Relative words are read in the agent's local time zone."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from .errors import UsageError

#: The hour a snooze given only as a day wakes at.
MORNING = time(9, 0)

_UNITS = {
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "wk": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "mo": "months",
    "month": "months",
    "months": "months",
}
_RELATIVE = re.compile(r"^(?:in\s+)?(\d+(?:\.\d+)?)\s*([a-z]+)$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SECONDS = ("s", "sec", "secs", "second", "seconds")
_DAY_OFFSETS = {"yesterday": -1, "today": 0, "tomorrow": 1}


def _at(day: datetime, clock: time | None) -> datetime:
    clock = clock or MORNING
    return day.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)


def _clock(text: str) -> time | None:
    """A time of day such as ``9am``, ``9:30 pm``, ``17:30`` or ``noon``; None if absent."""
    text = text.strip()
    if not text:
        return None
    if text in ("noon", "midday"):
        return time(12, 0)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text)
    if not match:
        raise UsageError(f"cannot read {text!r} as a time of day (try 9am or 17:30)")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half == "pm" and hour < 12:
        hour += 12
    if half == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        raise UsageError(f"{text!r} is not a time of day")
    return time(hour, minute)


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """The moment ``text`` names, after ``now`` (an aware datetime, default: now, local).

    Raises :class:`UsageError` with a hint when the text cannot be read or lies in the past.
    """
    now = now or datetime.now().astimezone()
    if now.tzinfo is None:
        now = now.astimezone()
    phrase = " ".join(text.lower().split())
    if not phrase:
        raise UsageError("say when, e.g. 'in 2h', 'tomorrow 9am' or 'mon'")
    result = _parse(phrase, now)
    if result <= now:
        raise UsageError(f"{text!r} is in the past ({result:%a %d %b %H:%M})")
    return result


def _parse(phrase: str, now: datetime) -> datetime:
    # dateutil loads only when a time is read: the query language imports this module, and
    # a script's `list` or `search` need not pay for it.
    from dateutil import parser as date_parser
    from dateutil.relativedelta import relativedelta

    match = _RELATIVE.match(phrase)
    if match and match.group(2) in _UNITS:
        amount, unit = float(match.group(1)), _UNITS[match.group(2)]
        if unit == "months":
            return now + relativedelta(months=int(amount))
        return now + timedelta(**{unit: amount})
    head, _, rest = phrase.partition(" ")
    if head == "tomorrow":
        return _at(now + timedelta(days=1), _clock(rest))
    if head == "today":
        return _at(now, _clock(rest) or now.time())
    if head == "tonight":
        return _at(now, _clock(rest) or time(19, 0))
    if phrase in ("next week", "next monday"):
        return _at(now + relativedelta(weekday=0, days=1), None)
    if phrase == "next month":
        return _at((now + relativedelta(months=1)).replace(day=1), None)
    if head[:3] in _WEEKDAYS and _is_weekday(head):
        weekday = _WEEKDAYS.index(head[:3])
        return _at(now + relativedelta(weekday=weekday, days=1), _clock(rest))
    try:
        clock = _clock(phrase)
    except UsageError:
        clock = None
    if clock is not None:
        candidate = _at(now, clock)
        return candidate if candidate > now else candidate + timedelta(days=1)
    try:
        parsed = date_parser.parse(phrase, default=_at(now, MORNING).replace(tzinfo=None))
    except (ValueError, OverflowError):
        raise UsageError(
            f"cannot read {phrase!r} as a time: try 'in 2h', 'tomorrow 9am', 'mon', "
            "'next week', '17:30' or '2026-12-01 10:00'"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)


def _is_weekday(word: str) -> bool:
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return any(name.startswith(word) for name in names) and len(word) >= 3


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"30m"``, ``"4h"``, ``"2 days"``, ``"1w"``; raises
    :class:`UsageError` naming the accepted forms."""
    phrase = " ".join(str(text).lower().split())
    if phrase.replace(".", "", 1).isdigit():
        return float(phrase)
    match = _RELATIVE.match(phrase)
    if match and match.group(2) in _SECONDS:
        return float(match.group(1))
    if match and match.group(2) in _UNITS and _UNITS[match.group(2)] != "months":
        return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))}).total_seconds()
    raise UsageError(f"cannot read {text!r} as a duration: try 90 (seconds), 30m, 4h, 2d or 1w")


def parse_day(text: str, now: datetime | None = None) -> datetime:
    """The moment a search bound names, looking back from ``now`` (aware; default: now, local).

    "today", "yesterday", "tomorrow" and weekdays ("mon": the most recent Monday, today
    included), each with an optional time of day ("yesterday 9am"); dates and times
    ("2026-11-01", "2026-11-01 10:00", "1 nov", ISO 8601 with a zone). A day without a time
    means its start, 00:00, in the zone of ``now``. Unlike :func:`parse_when`, the past is
    allowed. Raises :class:`UsageError` naming the accepted forms.
    """
    now = now or datetime.now().astimezone()
    if now.tzinfo is None:
        now = now.astimezone()
    phrase = " ".join(text.lower().split())
    head, _, rest = phrase.partition(" ")
    if head in _DAY_OFFSETS:
        day = now.date() + timedelta(days=_DAY_OFFSETS[head])
        return datetime.combine(day, _clock(rest) or time(0), tzinfo=now.tzinfo)
    if head[:3] in _WEEKDAYS and _is_weekday(head):
        back = (now.weekday() - _WEEKDAYS.index(head[:3])) % 7
        day = now.date() - timedelta(days=back)
        return datetime.combine(day, _clock(rest) or time(0), tzinfo=now.tzinfo)
    try:
        parsed = datetime.fromisoformat(text.strip())  # the fast, exact path
    except ValueError:
        from dateutil import parser as date_parser

        try:
            start = datetime.combine(now.date(), time(0))
            parsed = date_parser.parse(phrase, default=start)
        except (ValueError, OverflowError):
            raise UsageError(
                f"cannot read {text!r} as a date: try 'yesterday', 'mon', 'today 9am', "
                "'2026-11-01' or '2026-11-01 10:00'"
            ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)
