"""The query grammar: what each field, word and operator parses to."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agentconsole.query import (
    MATCH_ALL,
    And,
    Assignee,
    Field,
    Node,
    Not,
    Or,
    Party,
    QueryError,
    Text,
    all_of,
    has_status_term,
    parse,
    parse_field,
)

# A Wednesday afternoon in Paris.
NOW = datetime(2026, 12, 2, 15, 30, tzinfo=ZoneInfo("Europe/Paris"))


def q(text: str) -> Node:
    return parse(text, now=NOW)


def test_words_phrases_and_prefixes_keep_what_was_typed() -> None:
    assert q("Refund") == Text("Refund")
    assert q('"card declined"') == Text("card declined", phrase=True)
    assert q("subscr*") == Text("subscr", prefix=True)
    assert q('"card decl"*') == Text("card decl", phrase=True, prefix=True)
    assert q("café") == Text("café")
    assert q("10:30") == Text("10:30")  # digits before a colon are no field name
    assert q("e-mail") == Text("e-mail")
    assert q("or") == Text("or")  # only upper-case OR is the operator
    assert q('"OR"') == Text("OR", phrase=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from:ada@example.com", Field("from", "=", Party("ada@example.com", "address"))),
        ("from:@acme.example", Field("from", "=", Party("acme.example", "domain"))),
        ("from:Ada", Field("from", "=", Party("Ada", "text"))),
        ('from:"Ada Lovelace"', Field("from", "=", Party("Ada Lovelace", "text"))),
        ("to:support@acme.example", Field("to", "=", Party("support@acme.example", "address"))),
        ("contact:12", Field("contact", "=", 12)),
        ("contact:#12", Field("contact", "=", 12)),
        ("contact:ada@example.com", Field("contact", "=", "ada@example.com")),
        ("channel:support", Field("channel", "=", "support")),
        ("type:chat", Field("type", "=", "chat")),
        ("type:FORUM", Field("type", "=", "forum")),
        ("status:open", Field("status", "=", "open")),
        ("status:any", Field("status", "=", "any")),
        ("tag:billing", Field("tag", "=", "billing")),
        ("tag:-odd", Field("tag", "=", "-odd")),  # a dash inside a value is the value
        ("assignee:bob", Field("assignee", "=", "bob")),
        ("assignee:me", Field("assignee", "=", Assignee.ME)),
        ("assignee:none", Field("assignee", "=", Assignee.NOBODY)),
        ("priority:urgent", Field("priority", "=", 0)),
        ("priority:low", Field("priority", "=", 3)),
        ('subject:"card declined"', Field("subject", "=", "card declined")),
        ("has:attachment", Field("has", "=", "attachment")),
        ("has:draft", Field("has", "=", "draft")),
        ("is:unassigned", Field("is", "=", "unassigned")),
        ("is:mine", Field("is", "=", "mine")),
        ("is:failed", Field("is", "=", "failed")),
        ("is:snoozed", Field("is", "=", "snoozed")),
        ("is:waiting", Field("is", "=", "waiting")),
        ("waiting:>4h", Field("waiting", ">", 4 * 3600)),
        ("age:<2d", Field("age", "<", 2 * 86400)),
        ("updated:<1h", Field("updated", "<", 3600)),
        ("updated:>=30m", Field("updated", ">=", 1800)),
        ("age:<=1w", Field("age", "<=", 7 * 86400)),
        ("waiting:=90s", Field("waiting", "=", 90)),
        ("waiting:>1.5h", Field("waiting", ">", 5400)),
        ("id:338", Field("id", "=", 338)),
        ("#338", Field("id", "=", 338)),
        ("Tag:Billing", Field("tag", "=", "Billing")),  # names in any case, values as typed
    ],
)
def test_each_field_parses_to_its_typed_value(text: str, expected: Field) -> None:
    assert q(text) == expected


@pytest.mark.parametrize(
    ("text", "op", "rank"),
    [
        # Ranks are stored urgent = 0 … low = 3: "at least high" is "rank at most 1".
        ("priority:>=high", "<=", 1),
        ("priority:>high", "<", 1),
        ("priority:<normal", ">", 2),
        ("priority:<=normal", ">=", 2),
        ("priority:=high", "=", 1),
    ],
)
def test_priority_comparisons_apply_to_the_stored_rank(text: str, op: str, rank: int) -> None:
    assert q(text) == Field("priority", op, rank)  # type: ignore[arg-type]


def test_terms_side_by_side_are_anded() -> None:
    assert q("refund tag:billing") == And((Text("refund"), Field("tag", "=", "billing")))
    assert q("a AND b") == q("a b")


def test_and_binds_tighter_than_or() -> None:
    a, b, c = Text("a"), Text("b"), Text("c")
    assert q("a OR b c") == Or((a, And((b, c))))
    assert q("a b OR c") == Or((And((a, b)), c))
    assert q("(a OR b) c") == And((Or((a, b)), c))
    assert q("a OR b OR c") == Or((a, b, c))  # flattened, not nested


def test_negation_binds_tightest_and_applies_to_groups() -> None:
    a, b = Text("a"), Text("b")
    assert q("-a b") == And((Not(a), b))
    assert q("-a OR b") == Or((Not(a), b))
    assert q("-(a OR b)") == Not(Or((a, b)))
    assert q("-(a b)") == Not(And((a, b)))
    assert q("-tag:spam") == Not(Field("tag", "=", "spam"))
    assert q('-"card declined"') == Not(Text("card declined", phrase=True))
    assert q("-#12") == Not(Field("id", "=", 12))
    assert q("--a") == Not(Not(a))


def test_groups_and_spacing_do_not_change_the_tree() -> None:
    assert q("((a))") == Text("a")
    assert q("(a b) c") == q("a b c")
    assert q("  a\tOR\n(b)  ") == q("a OR b")
    assert q("tag:a(b OR c)") == And((Field("tag", "=", "a"), Or((Text("b"), Text("c")))))


def test_quoted_values_are_literal() -> None:
    assert q(r'"say \"hi\""') == Text('say "hi"', phrase=True)
    assert q(r'subject:"back\\slash"') == Field("subject", "=", "back\\slash")
    assert q('subject:"a OR (b)"') == Field("subject", "=", "a OR (b)")
    assert q('"http://x.example/a"') == Text("http://x.example/a", phrase=True)


def test_the_empty_query_matches_everything() -> None:
    assert q("") == MATCH_ALL
    assert q("   ") == MATCH_ALL
    assert str(MATCH_ALL) == ""


def test_has_status_term_finds_status_anywhere() -> None:
    assert not has_status_term(q("tag:billing is:snoozed"))
    assert has_status_term(q("status:closed"))
    assert has_status_term(q("-status:closed"))
    assert has_status_term(q("tag:a (b OR status:any)"))
    assert not has_status_term(MATCH_ALL)


def test_all_of_ands_a_view_with_a_search() -> None:
    view, search = q("tag:billing OR tag:refund"), q("declined assignee:me")
    combined = all_of(view, search)
    assert combined == And((view, Text("declined"), Field("assignee", "=", Assignee.ME)))
    assert q(str(combined)) == combined
    assert all_of(MATCH_ALL, search) == search
    assert all_of(view, MATCH_ALL) == view
    assert all_of(MATCH_ALL, MATCH_ALL) == MATCH_ALL


ACTIVE = Or((Field("status", "=", "open"), Field("status", "=", "pending")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The sidebar's views and `list`'s flags of today, each spelled as a query.
        ("assignee:me (status:open OR status:pending)", And((Field("assignee", "=", Assignee.ME), ACTIVE))),
        ("status:open assignee:none", And((Field("status", "=", "open"), Field("assignee", "=", Assignee.NOBODY)))),
        ("channel:support (status:open OR status:pending)", And((Field("channel", "=", "support"), ACTIVE))),
        ("tag:billing (status:open OR status:pending)", And((Field("tag", "=", "billing"), ACTIVE))),
        (
            "channel:support assignee:bob tag:vip",
            And((Field("channel", "=", "support"), Field("assignee", "=", "bob"), Field("tag", "=", "vip"))),
        ),
    ],
)  # fmt: skip
def test_the_views_of_today_are_queries(text: str, expected: Node) -> None:
    assert q(text) == expected


def test_a_flag_becomes_a_term_with_its_value_taken_whole() -> None:
    assert parse_field("tag", "two words") == Field("tag", "=", "two words")
    assert parse_field("tag", 'say "hi" (now)') == Field("tag", "=", 'say "hi" (now)')
    assert parse_field("status", "any") == Field("status", "=", "any")
    assert parse_field("priority", ">=high") == Field("priority", "<=", 1)
    assert parse_field("assignee", "me") == Field("assignee", "=", Assignee.ME)
    with pytest.raises(QueryError, match="did you mean 'pending'") as caught:
        parse_field("status", "pendig")
    assert caught.value.query[caught.value.start : caught.value.end] == "pendig"


def test_search_as_you_type_makes_the_word_being_typed_a_prefix() -> None:
    def typing(text: str) -> Node:
        return parse(text, now=NOW, prefix_last=True)

    assert typing("card decl") == And((Text("card"), Text("decl", prefix=True)))
    assert typing("card decl ") == And((Text("card"), Text("decl")))  # a space ends the word
    assert typing("d") == Text("d")  # one letter would match half the store
    assert typing('"card decl"') == Text("card decl", phrase=True)
    assert typing("refund tag:bill") == And((Text("refund"), Field("tag", "=", "bill")))
    assert typing("(a OR decl)") == Or((Text("a"), Text("decl")))
    assert q("card decl") == And((Text("card"), Text("decl")))
