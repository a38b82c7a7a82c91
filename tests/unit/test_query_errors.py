"""Query errors: one exception (a usage error, exit 2), pointing at the token, suggesting
the name that was meant."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agentconsole.errors import UsageError
from agentconsole.query import QueryError, format_error, parse

NOW = datetime(2026, 12, 2, 15, 30, tzinfo=ZoneInfo("Europe/Paris"))


def error_of(text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse(text, now=NOW)
    return caught.value


def pointed(text: str) -> tuple[str, str]:
    """(the message, the text the error points at)."""
    error = error_of(text)
    return error.message, text[error.start : error.end]


def test_a_query_error_is_a_usage_error() -> None:
    error = error_of("tga:x")
    assert isinstance(error, UsageError)
    assert error.exit_code == 2
    assert str(error) == "unknown field 'tga' — did you mean 'tag'?"


@pytest.mark.parametrize(
    ("text", "message", "token"),
    [
        ("refund tga:billing", "unknown field 'tga' — did you mean 'tag'?", "tga"),
        ("statsu:open", "unknown field 'statsu' — did you mean 'status'?", "statsu"),
        ("asignee:me", "unknown field 'asignee' — did you mean 'assignee'?", "asignee"),
        ("status:opne", "unknown status 'opne' — did you mean 'open'?", "opne"),
        ("priority:>=hgih", "unknown priority 'hgih' — did you mean 'high'?", "hgih"),
        ("priority:urgnet", "unknown priority 'urgnet' — did you mean 'urgent'?", "urgnet"),
        ("has:atachment", "unknown has: value 'atachment' — did you mean 'attachment'?", "atachment"),
        ("has:attach", "unknown has: value 'attach' — did you mean 'attachment'?", "attach"),
        ("is:waitng", "unknown is: value 'waitng' — did you mean 'waiting'?", "waitng"),
        ("type:mail", "unknown channel type 'mail' — did you mean 'email'?", "mail"),
    ],
)  # fmt: skip
def test_unknown_names_suggest_the_closest(text: str, message: str, token: str) -> None:
    assert pointed(text) == (message, token)


def test_without_a_close_name_the_valid_ones_are_listed() -> None:
    message, token = pointed("status:xyzzy")
    assert message == "unknown status 'xyzzy' — use open, pending, snoozed, closed or any"
    message, token = pointed("see https://x.example")
    assert token == "https"
    assert "unknown field 'https' — use from, to," in message
    assert 'quote it: "https:…"' in message


@pytest.mark.parametrize(
    ("text", "message", "token"),
    [
        ("(a OR b", "this '(' is never closed", "("),
        ("a (b (c)", "this '(' is never closed", "("),
        ("a OR b)", "unbalanced ')': no '(' opens it", ")"),
        ("()", "empty parentheses", "()"),
        ("a OR", "nothing after OR: put a term on each side", "OR"),
        ("OR a", "nothing before OR: put a term on each side", "OR"),
        ("a OR OR b", "nothing after OR: put a term on each side", "OR"),
        ("(a OR) b", "nothing after OR: put a term on each side", "OR"),
        ("a AND", "nothing after AND: put a term on each side", "AND"),
        ("AND a", "nothing before AND: put a term on each side", "AND"),
        ("a -", "'-' must touch what it negates: -tag:spam, -(a OR b)", "-"),
        ("- a", "'-' must touch what it negates: -tag:spam, -(a OR b)", "-"),
        ("-)", "nothing to negate after '-'", "-"),
        ("-OR a", "nothing to negate after '-'", "-"),
        ('"card declined', "this quote is never closed", '"'),
        ('subject:"card', "this quote is never closed", '"'),
        ('don"t', 'a quote inside a word: quote the whole word or value, e.g. subject:"card declined"', '"'),
        ('"a"b', "put a space after the closing quote", "b"),
        ("?", "'?': nothing to search for (no letter or digit)", "?"),
        ('""', "empty quotes: nothing to search for (no letter or digit)", '""'),
        ("tag:", "tag: needs a value — tag:NAME", "tag:"),
        ('tag:""', "tag: needs a value — tag:NAME", 'tag:""'),
        ("priority:>=", "priority: needs a value — priority:[OP]LEVEL", "priority:>="),
        ("from:@", "from:@ needs a domain, e.g. from:@acme.example", "@"),
        ("id:abc", "id: needs a conversation number, e.g. id:338 or #338", "abc"),
        ("waiting:4h", "waiting: needs a comparison, e.g. waiting:>4h or waiting:<30m", "4h"),
    ],
)  # fmt: skip
def test_structure_errors_point_at_the_token(text: str, message: str, token: str) -> None:
    assert pointed(text) == (message, token)


def test_bad_durations_and_dates_point_at_the_value() -> None:
    message, token = pointed("tag:x age:<4x")
    assert token == "4x"
    assert message.startswith("cannot read '4x' as a duration")
    message, token = pointed("after:someday")
    assert token == "someday"
    assert message.startswith("cannot read 'someday' as a date: try 'yesterday', 'mon'")
    message, token = pointed('before:"yesterday 25pm"')
    assert token == "yesterday 25pm"
    assert "time of day" in message


def test_nesting_is_bounded() -> None:
    message, _ = pointed("(" * 200 + "a" + ")" * 200)
    assert message == "nested more than 64 deep"
    assert parse("(" * 30 + "a" + ")" * 30) is not None


def test_the_caret_sits_under_the_offending_token() -> None:
    assert format_error(error_of("refund tga:billing")) == (
        "unknown field 'tga' — did you mean 'tag'?\n  refund tga:billing\n         ^^^"
    )
    # Wide characters take two cells, a tab one: the caret still lines up on screen.
    assert format_error(error_of("日本\tstatus:opne")).splitlines()[1:] == [
        "  日本 status:opne",
        " " * (2 + 4 + 1 + 7) + "^^^^",  # indent, two wide characters, the tab, "status:"
    ]


def test_a_long_query_is_cut_around_the_token() -> None:
    text = "word " * 40 + "tga:x " + "more " * 40
    lines = format_error(error_of(text), width=60).splitlines()
    assert all(len(line) <= 60 for line in lines)
    shown, caret = lines[1], lines[2]
    start = caret.index("^")
    assert shown[start : start + 3] == "tga"
    assert shown.lstrip().startswith("…") and shown.endswith("…")


def test_control_characters_in_the_query_are_not_echoed() -> None:
    rendered = format_error(error_of("\x1b]0;x\x07 tga:1"))
    assert "\x1b" not in rendered and "\x07" not in rendered


def test_a_long_query_of_wide_characters_fits_the_width_too() -> None:
    def by_cell(text: str) -> str:  # a wide character twice: one character per screen cell
        return "".join(c * 2 if unicodedata.east_asian_width(c) == "W" else c for c in text)

    text = "日本語 " * 30 + "tga:x " + "語" * 50
    _, shown, caret = format_error(error_of(text), width=50).splitlines()
    assert len(by_cell(shown)) <= 50
    assert by_cell(shown)[caret.index("^") :].startswith("tga")
