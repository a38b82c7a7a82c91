"""The canonical text of a query parses back to the same tree: a saved view, a query shown
in help or a query combined by code reads back as what it was.

hypothesis is not installed here, so the trees are generated from a fixed seed.
"""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agentconsole.query import (
    FIELDS,
    Assignee,
    Field,
    Node,
    Not,
    Party,
    QueryError,
    Text,
    all_of,
    any_of,
    format_error,
    parse,
    to_query,
)
from agentconsole.query.fields import FieldValue, Op

NOW = datetime(2026, 12, 2, 15, 30, tzinfo=ZoneInfo("Europe/Paris"))

# Words that stress the quoting: operators, field look-alikes, quotes, backslashes, parens.
WORDS = [
    "refund", "Café", "e-mail", "OR", "AND", "or", "tag:x", "http://a.example", "#338", "#abc",
    "a*b", "10:30", 'say "hi"', "back\\slash", "end\\", "(paren)", "two words", "-dash",
    "日本", "x)", "a\tb",
]  # fmt: skip
TEXTS = ["billing", "card declined", "-odd", "a(b)", 'quo"te', "back\\", "Ünïcode", "x:y"]


def random_field(rng: random.Random) -> Field:
    name = rng.choice(list(FIELDS))
    spec = FIELDS[name]
    op: Op = "="
    value: FieldValue
    if spec.kind == "text":
        value = rng.choice(TEXTS)
    elif spec.kind == "party":
        value = rng.choice(
            [
                Party("acme.example", "domain"),
                Party("ada@x.example", "address"),
                Party("Ada L", "text"),
            ]
        )
    elif spec.kind == "contact":
        value = rng.choice([12, "ada@x.example", "irc handle"])
    elif spec.kind == "choice":
        value = rng.choice(spec.choices)
    elif spec.kind == "assignee":
        value = rng.choice([Assignee.ME, Assignee.NOBODY, "bob", "Mary Ann"])
    elif spec.kind == "priority":
        op, value = rng.choice(["=", "<", "<=", ">", ">="]), rng.randrange(4)
    elif spec.kind == "duration":
        op = rng.choice(["=", "<", "<=", ">", ">="])
        value = rng.choice([30.0, 90.0, 3600.0, 5400.0, 86400.0, 604800.0, 1209600.0, 0.25])
    elif spec.kind == "date":
        value = float(rng.randrange(1_700_000_000, 1_900_000_000))
    elif spec.kind == "sla":
        if rng.random() < 0.5:
            value = rng.choice(spec.choices)
        else:
            op = rng.choice(["<", "<=", ">", ">="])
            value = rng.choice([60.0, 3600.0, 5400.0, 86400.0, 0.5])
    else:
        value = rng.randrange(1, 100_000)
    return Field(name, op, value)


def random_node(rng: random.Random, depth: int = 0) -> Node:
    roll = rng.random() if depth < 4 else rng.random() * 0.6
    if roll < 0.3:
        word = rng.choice(WORDS)
        phrase = rng.random() < 0.3 or parse_is_not_a_plain_word(word)
        return Text(word, phrase, rng.random() < 0.2)
    if roll < 0.6:
        return random_field(rng)
    if roll < 0.7:
        return Not(random_node(rng, depth + 1))
    terms = [random_node(rng, depth + 1) for _ in range(rng.randint(2, 4))]
    return all_of(*terms) if roll < 0.85 else any_of(*terms)


def parse_is_not_a_plain_word(word: str) -> bool:
    """Words the parser only ever produces from quotes (so a tree holding them unquoted is
    not one a query can spell)."""
    return (
        any(char.isspace() or char in '"()' for char in word)
        or word in ("OR", "AND")
        or word.startswith("-")
        or (word.startswith("#") and word[1:].isdigit())
        or ":" in word.split("/")[0]
        and word.split(":")[0].isalpha()
    )


@pytest.mark.parametrize("seed", range(300))
def test_canonical_text_parses_back_to_the_same_tree(seed: int) -> None:
    node = random_node(random.Random(seed))
    text = to_query(node)
    assert parse(text, now=NOW) == node, text
    assert to_query(parse(text, now=NOW)) == text  # and the text is stable


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Tag:billing  OR  priority:>=HIGH", "tag:billing OR priority:>=high"),
        ("a OR b c", "a OR (b c)"),
        ("-(a OR b) -c", "-(a OR b) -c"),
        ("waiting:>240m age:<48h updated:<=3600s", "waiting:>4h age:<2d updated:<=1h"),
        ("after:yesterday", "after:2026-11-30T23:00:00Z"),
        ("#338 contact:#12", "id:338 contact:12"),
        (
            'subject:"card declined" "a phrase" prefix*',
            'subject:"card declined" "a phrase" prefix*',
        ),
        ("from:@acme.example assignee:ME", "from:@acme.example assignee:me"),
        ("a AND b", "a b"),
    ],
)
def test_canonical_spelling(typed: str, canonical: str) -> None:
    assert to_query(parse(typed, now=NOW)) == canonical
    assert str(parse(typed, now=NOW)) == canonical


# Pieces a hurried or pasted query is made of, glued at random.
PIECES = [
    *'abc ()-"\\*#:@<>=\t', "OR", "AND", "tag:", "priority:", "waiting:", "after:", "status:",
    "from:", "12", "é", "4h", ">=", "high", "mon", "2026-11-01",
]  # fmt: skip


def test_any_text_parses_or_raises_a_query_error_that_points_inside_it() -> None:
    rng = random.Random(9)
    parsed = 0
    for _ in range(3000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 16)))
        try:
            node = parse(text, now=NOW)
        except QueryError as error:
            assert 0 <= error.start <= error.end <= len(text), text
            assert "^" in format_error(error)
            continue
        parsed += 1
        assert parse(to_query(node), now=NOW) == node, text
    assert parsed > 300  # the pieces make valid queries too, not only errors
