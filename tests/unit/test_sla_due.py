"""SLA due times from a conversation's facts: weekends, holidays, a DST change, pausing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from agentconsole.sla import SlaSettings, settings_from_config
from agentconsole.sla.due import Facts, compute, update_pauses

WARSAW = ZoneInfo("Europe/Warsaw")
HOUR = 3600.0
HOURS = {
    "timezone": "Europe/Warsaw",
    "week": {day: "08:00-18:00" for day in ("mon", "tue", "wed", "thu")} | {"fri": "08:00-16:00"},
    "holidays": ["2026-12-24", "2026-12-25"],
}
SETTINGS: SlaSettings = settings_from_config(
    [
        {"name": "urgent", "if": "priority:urgent", "first_response": "1h", "resolution": "8h",
         "business_hours": False},
        {"name": "standard", "first_response": "2h", "next_response": "1h", "resolution": "8h"},
    ],
    HOURS,
    "config.toml",
)  # fmt: skip
URGENT, STANDARD = SETTINGS.policies


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=WARSAW).timestamp()


def local(timestamp: float | None) -> str:
    assert timestamp is not None
    return datetime.fromtimestamp(timestamp, WARSAW).strftime("%a %Y-%m-%d %H:%M")


def facts(created: str, **changes: object) -> Facts:
    values: dict[str, object] = {
        "status": "open",
        "created_at": at(created),
        "updated_at": at(created),
        "first_response_at": None,
        "waiting_since": at(created),
        "resolved_at": None,
    }
    values.update(changes)
    return Facts(**values)  # type: ignore[arg-type]


def due(policy: object, conversation: Facts) -> str:
    assert policy in SETTINGS.policies
    result = compute(policy, SETTINGS.clock(policy), conversation)  # type: ignore[arg-type]
    return f"{result.target} {local(result.due_at)}"


def test_a_friday_afternoon_question_is_due_monday_morning() -> None:
    # Friday closes at 16:00: one hour on Friday, one on Monday from 08:00.
    assert due(STANDARD, facts("2026-11-27 15:00")) == "first_response Mon 2026-11-30 09:00"


def test_holidays_and_the_weekend_after_them_do_not_count() -> None:
    # Wed 17:00-18:00, then Thu 24 and Fri 25 are holidays, then the weekend.
    assert due(STANDARD, facts("2026-12-23 17:00")) == "first_response Mon 2026-12-28 09:00"


def test_business_hours_move_with_the_wall_clock_across_the_dst_change() -> None:
    # Summer time ends on Sunday 25 October 2026: Monday still opens at 08:00 local.
    conversation = facts("2026-10-23 15:30")
    assert due(STANDARD, conversation) == "first_response Mon 2026-10-26 09:30"
    result = compute(STANDARD, SETTINGS.clock(STANDARD), conversation)
    assert result.due_at is not None
    # 66 wall hours from Friday 15:30 to Monday 09:30, plus the hour the clocks went back.
    assert result.due_at - conversation.created_at == 67 * HOUR


def test_a_policy_outside_business_hours_counts_every_second_across_dst() -> None:
    # 24 hours from Saturday noon are Sunday 11:00 local: the clocks went back an hour.
    conversation = facts("2026-10-24 12:00", first_response_at=at("2026-10-24 12:10"))
    result = compute(URGENT, SETTINGS.clock(URGENT), conversation)
    assert result.target == "resolution"
    assert local(result.due_at) == "Sat 2026-10-24 20:00"
    long = SETTINGS.clock(URGENT).add(conversation.created_at, 24 * HOUR)
    assert local(long) == "Sun 2026-10-25 11:00"


def test_the_next_response_runs_from_the_customers_oldest_unanswered_message() -> None:
    conversation = facts(
        "2026-11-30 09:00",
        first_response_at=at("2026-11-30 09:30"),
        waiting_since=at("2026-11-30 17:30"),
    )
    # The resolution target (8 business hours from 09:00) falls due first: it is shown.
    assert due(STANDARD, conversation) == "resolution Mon 2026-11-30 17:00"
    responses = settings_from_config(
        [{"name": "chat", "first_response": "2h", "next_response": "1h"}], HOURS, "c.toml"
    )
    (chat,) = responses.policies
    result = compute(chat, responses.clock(chat), conversation)
    # 30 minutes on Monday before 18:00, the other 30 on Tuesday from 08:00.
    assert (result.target, local(result.due_at)) == ("next_response", "Tue 2026-12-01 08:30")


def test_answered_and_nobody_waiting_leaves_the_resolution_target() -> None:
    conversation = facts(
        "2026-11-30 09:00", first_response_at=at("2026-11-30 09:30"), waiting_since=None
    )
    assert due(STANDARD, conversation) == "resolution Mon 2026-11-30 17:00"


def test_pending_stops_the_clock_and_a_customer_reply_starts_it_again() -> None:
    created = "2026-11-30 09:00"
    pauses = update_pauses((), "pending", at("2026-11-30 11:00"))
    paused = facts(
        created,
        status="pending",
        first_response_at=at("2026-11-30 10:00"),
        waiting_since=None,
        pauses=pauses,
    )
    stopped = compute(STANDARD, SETTINGS.clock(STANDARD), paused)
    assert (stopped.target, stopped.due_at) == (None, None)
    # The customer answers on Tuesday at 10:00: the conversation reopens.
    pauses = update_pauses(pauses, "open", at("2026-12-01 10:00"))
    assert pauses == ((at("2026-11-30 11:00"), at("2026-12-01 10:00")),)
    running = facts(
        created,
        first_response_at=at("2026-11-30 10:00"),
        waiting_since=at("2026-12-01 10:00"),
        pauses=pauses,
    )
    assert due(STANDARD, running) == "next_response Tue 2026-12-01 11:00"
    # Resolution: 2 of its 8 hours ran on Monday before the pause; 6 more from Tuesday 10:00.
    result = compute(
        STANDARD, SETTINGS.clock(STANDARD), facts(
            created, first_response_at=at("2026-11-30 10:00"), waiting_since=None, pauses=pauses
        ),
    )  # fmt: skip
    assert (result.target, local(result.due_at)) == ("resolution", "Tue 2026-12-01 16:00")


def test_a_pause_that_began_after_the_due_time_does_not_hide_the_breach() -> None:
    pauses = update_pauses((), "pending", at("2026-11-30 12:00"))
    late = facts("2026-11-30 09:00", status="pending", pauses=pauses)
    result = compute(STANDARD, SETTINGS.clock(STANDARD), late)
    assert result.target == "first_response"
    assert local(result.due_at) == "Mon 2026-11-30 11:00"


def test_a_late_first_answer_and_a_late_close_are_missed_targets() -> None:
    on_time = facts("2026-11-30 09:00", first_response_at=at("2026-11-30 10:59"))
    assert not compute(STANDARD, SETTINGS.clock(STANDARD), on_time).missed
    late = facts("2026-11-30 09:00", first_response_at=at("2026-11-30 11:01"))
    assert compute(STANDARD, SETTINGS.clock(STANDARD), late).missed
    closed_late = facts(
        "2026-11-30 09:00",
        status="closed",
        first_response_at=at("2026-11-30 09:10"),
        waiting_since=None,
        resolved_at=at("2026-12-01 09:30"),  # 9 business hours and 30 minutes
    )
    result = compute(STANDARD, SETTINGS.clock(STANDARD), closed_late)
    assert (result.target, result.due_at, result.missed) == (None, None, True)


def test_a_bot_hand_off_starts_the_first_response_clock() -> None:
    handed_off = facts(
        "2026-11-30 08:00",
        handed_off_at=at("2026-11-30 13:00"),
        waiting_since=at("2026-11-30 13:00"),
    )
    assert due(STANDARD, handed_off) == "first_response Mon 2026-11-30 15:00"
