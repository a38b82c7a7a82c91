"""The "sending failing" warning read as it stands: with the fetch side's own error beside
it, only the send part goes when no reply waits, and the next try counts down."""

from __future__ import annotations

from agentconsole.models import ChannelRecord
from agentconsole.store.send_health import SEPARATOR, _current, describe

NOW = 1_800_000_000.0


def record(detail: str, *, held: bool = True) -> ChannelRecord:
    return ChannelRecord(
        id=1,
        name="mail",
        type="email",
        kind="email",
        health="error",
        health_detail=detail,
        health_at=NOW - 10,
        cursor=None,
        lease_owner="host:1" if held else None,
        lease_expires=NOW + 30 if held else None,
    )


def test_the_fetch_error_stays_when_the_send_problem_is_over() -> None:
    problem = describe("cannot reach smtp.example.com", 3, 16)
    both = record(f"IMAP login refused{SEPARATOR}{problem}")
    assert _current(both, 0, NOW).health_detail == "IMAP login refused"
    shown = _current(both, 2, NOW).health_detail
    assert shown == (
        "IMAP login refused; sending failing: cannot reach smtp.example.com"
        " — 2 replies waiting, next try in 6 s"
    )


def test_a_held_channel_with_nothing_waiting_is_connected_again() -> None:
    cleared = _current(record(describe("timed out", 1, 4)), 0, NOW)
    assert (cleared.health, cleared.health_detail) == ("connected", None)


def test_other_errors_are_left_as_they_are() -> None:
    other = record("the disk is full")
    assert _current(other, 0, NOW) is other
