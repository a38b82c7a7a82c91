"""before:/after: read the snooze's natural dates against an injected clock and zone;
durations are seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from agentconsole.errors import UsageError
from agentconsole.query import Field, parse
from agentconsole.timeparse import parse_day, parse_duration

PARIS = ZoneInfo("Europe/Paris")
# Wednesday 2 December 2026, 15:30 in Paris (UTC+1).
NOW = datetime(2026, 12, 2, 15, 30, tzinfo=PARIS)


def stamp(*args: int, tz: timezone | ZoneInfo = PARIS) -> float:
    return datetime(*args, tzinfo=tz).timestamp()  # type: ignore[misc]


def bound(text: str, now: datetime = NOW) -> float:
    node = parse(f"after:{text}", now=now)
    assert isinstance(node, Field) and isinstance(node.value, float)
    return node.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", stamp(2026, 12, 2)),
        ("yesterday", stamp(2026, 12, 1)),
        ("tomorrow", stamp(2026, 12, 3)),
        ("mon", stamp(2026, 11, 30)),  # the most recent Monday
        ("monday", stamp(2026, 11, 30)),
        ("wed", stamp(2026, 12, 2)),  # today is Wednesday: today counts
        ("thu", stamp(2026, 11, 26)),
        ("2026-11-01", stamp(2026, 11, 1)),
        ('"2026-11-01 10:00"', stamp(2026, 11, 1, 10)),
        ('"yesterday 9am"', stamp(2026, 12, 1, 9)),
        ('"mon 17:30"', stamp(2026, 11, 30, 17, 30)),
        ("2026-11-01T10:00:00Z", stamp(2026, 11, 1, 10, tz=UTC)),
        ('"1 nov 2026"', stamp(2026, 11, 1)),
        ("2026-07-14", stamp(2026, 7, 14)),  # summer time: UTC+2 on that day, not today's +1
    ],
)
def test_dates_resolve_against_the_injected_clock(text: str, expected: float) -> None:
    assert bound(text) == expected


def test_the_zone_of_now_decides_where_a_day_starts() -> None:
    kiribati = ZoneInfo("Pacific/Kiritimati")  # UTC+14: already Thursday 3 Dec, 04:30
    assert bound("today", NOW.astimezone(kiribati)) == stamp(2026, 12, 3, tz=kiribati)
    tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))  # the same day, 8 hours ahead of Paris
    assert bound("yesterday", tokyo) - bound("yesterday") == -8 * 3600
    # A naive clock is read as local time, like the snooze's.
    assert parse("after:today", now=datetime(2026, 12, 2, 12)) is not None


def test_before_and_after_keep_their_own_field() -> None:
    assert parse("before:yesterday", now=NOW) == Field("before", "=", stamp(2026, 12, 1))


def test_parse_day_allows_the_past_that_snooze_refuses() -> None:
    assert parse_day("2020-01-01", NOW) == datetime(2020, 1, 1, tzinfo=PARIS)
    with pytest.raises(UsageError, match="cannot read 'soon' as a date"):
        parse_day("soon", NOW)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30s", 30), ("45sec", 45), ("30m", 1800), ("4h", 14400), ("2d", 172800)],
)
def test_durations_take_seconds_too(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_durations_are_seconds_in_the_tree() -> None:
    assert parse("waiting:>1w", now=NOW) == Field(
        "waiting", ">", timedelta(weeks=1).total_seconds()
    )
