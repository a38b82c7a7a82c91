"""SLA clocks run only in business hours: weekends, holidays and a DST change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agentconsole.errors import ConfigError
from agentconsole.sla import AlwaysOpen, calendar_from_config

WARSAW = ZoneInfo("Europe/Warsaw")
HOUR = 3600.0
TEAM = calendar_from_config(
    {
        "timezone": "Europe/Warsaw",
        "week": {day: "08:00-18:00" for day in ("mon", "tue", "wed", "thu")}
        | {"fri": "08:00-16:00"},
        "holidays": ["2026-12-24", "2026-12-25"],
    },
    "config.toml [business_hours]",
)


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=WARSAW).timestamp()


def local(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, WARSAW).strftime("%a %Y-%m-%d %H:%M")


def test_a_friday_afternoon_ticket_is_due_on_monday_morning() -> None:
    assert local(TEAM.add(at("2026-11-27 15:00"), 2 * HOUR)) == "Mon 2026-11-30 09:00"
    assert TEAM.elapsed(at("2026-11-27 15:00"), at("2026-11-30 09:00")) == 2 * HOUR


def test_mail_at_night_starts_its_clock_when_the_team_opens() -> None:
    assert local(TEAM.add(at("2026-12-01 23:30"), 30 * 60)) == "Wed 2026-12-02 08:30"
    assert TEAM.elapsed(at("2026-12-01 19:00"), at("2026-12-02 07:59")) == 0


def test_holidays_are_skipped() -> None:
    # Wed 23 Dec 17:00, then Christmas Eve and Day (Thu, Fri) off, then the weekend.
    assert local(TEAM.add(at("2026-12-23 17:00"), 2 * HOUR)) == "Mon 2026-12-28 09:00"


def test_hours_follow_the_wall_clock_across_a_dst_change() -> None:
    # Warsaw moves to summer time on Sunday 29 March 2026.
    due = TEAM.add(at("2026-03-27 15:00"), 2 * HOUR)
    assert local(due) == "Mon 2026-03-30 09:00"
    assert datetime.fromtimestamp(due, ZoneInfo("UTC")).hour == 7  # CEST is UTC+2
    always = calendar_from_config(
        {"timezone": "Europe/Warsaw", "week": dict.fromkeys(("mon", "sat", "sun"), "00:00-24:00")},
        "x",
    )
    # The day of the change has 23 hours.
    assert round(always.elapsed(at("2026-03-29 00:00"), at("2026-03-30 00:00")) / HOUR, 3) == 23


def test_a_lunch_break_pauses_the_clock() -> None:
    lunch = calendar_from_config(
        {"timezone": "UTC", "week": {"mon": "09:00-12:00, 13:00-17:00"}}, "x"
    )
    monday = datetime(2026, 11, 30, 11, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    assert lunch.add(monday, 2 * HOUR) - monday == 3 * HOUR


def test_without_business_hours_every_second_counts() -> None:
    assert AlwaysOpen().add(100.0, HOUR) == 100.0 + HOUR
    assert AlwaysOpen().elapsed(100.0, 50.0) == 0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"timezone": "Europe/Warsw", "week": {"mon": "08:00-18:00"}}, "unknown timezone"),
        ({"week": {"mon": "8-18"}}, r"week\.mon: '8-18' is not a range"),
        ({"week": {"mon": "18:00-08:00"}}, "ends before it starts"),
        ({"week": {"monday": "08:00-18:00"}}, "unknown day 'monday'"),
        ({"week": {}}, "no open hours"),
        ({"week": {"mon": "08:00-18:00"}, "holidays": ["24.12."]}, "not a date"),
        ({"week": {"mon": "08:00-18:00"}, "timezon": "UTC"}, "unknown key 'timezon'"),
    ],
)
def test_a_bad_calendar_names_the_key_and_the_fix(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        calendar_from_config(table, "config.toml [business_hours]")
    assert str(raised.value).startswith("config.toml [business_hours]")
