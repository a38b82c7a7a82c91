"""Saved replies: files, placeholders, the picker's order."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentconsole.errors import NotFoundError
from agentconsole.replies import PlaceholderError, ReplyContext, load_library, parse, rank

OUTAGE = """+++
title = "Outage: we are on it"
keywords = ["outage", "down", "payments"]
channels = ["email", "chat"]
tags = ["+outage", "-billing"]
status = "pending"
+++
Hi {customer.first_name},

we know card payments are failing since {conversation.created_at:%H:%M} and are on it.
--\x20
{agent.display_name}
"""

CREATED = time.mktime((2026, 12, 1, 9, 41, 0, 0, 0, -1))
CONTEXT = ReplyContext(
    agent_name="alice",
    agent_display_name="Alice from Acme",
    conversation_id=338,
    conversation_subject="Card declined",
    conversation_channel="support",
    conversation_created_at=CREATED,
    customer_name="Ada Lovelace",
    customer_email="ada@example.com",
)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_reply_file_is_filled_in_for_the_conversation(tmp_path: Path) -> None:
    write(tmp_path, "outage", OUTAGE)
    reply = load_library([tmp_path]).get("outage")
    assert reply.title == "Outage: we are on it"
    assert reply.status == "pending"
    assert reply.tag_changes == (["outage"], ["billing"])
    text = reply.template_for("email").render(CONTEXT)
    assert text.startswith("Hi Ada,\n\nwe know card payments are failing since 09:41 and")
    assert text.endswith("-- \nAlice from Acme\n")


def test_a_chat_reply_has_no_signature_block(tmp_path: Path) -> None:
    write(tmp_path, "outage", OUTAGE)
    reply = load_library([tmp_path]).get("outage")
    text = reply.template_for("chat").render(CONTEXT)
    assert "Alice from Acme" not in text and "-- " not in text
    assert text.rstrip().endswith("are on it.")


def test_unknown_placeholder_is_an_error_never_text() -> None:
    template = parse("Hi {customer.frist_name}, thanks")
    with pytest.raises(PlaceholderError, match=r"did you mean \{customer.first_name\}"):
        template.render(CONTEXT)


def test_a_placeholder_without_a_value_refuses_to_render() -> None:
    visitor = ReplyContext(**{**_fields(CONTEXT), "customer_email": None})
    with pytest.raises(PlaceholderError, match="cannot be filled"):
        parse("We will write to {customer.email}.").render(visitor)


def test_literal_braces_and_malformed_braces() -> None:
    assert parse("a {{b}} c").render(CONTEXT) == "a {b} c"
    assert parse("{ unclosed").error is not None
    assert parse("stray } here").error is not None
    assert parse("{agent.name:%H}").error is not None  # only times take a format


def test_a_broken_file_is_listed_and_the_others_still_work(tmp_path: Path) -> None:
    write(tmp_path, "good", "Thanks {customer.first_name}!\n")
    write(tmp_path, "typo", '+++\ntitel = "x"\n+++\nbody\n')
    write(tmp_path, "bad-toml", "+++\ntitle = \n+++\nbody\n")
    write(tmp_path, "open-ended", '+++\ntitle = "x"\nbody\n')
    library = load_library([tmp_path, tmp_path / "missing"])
    assert [r.name for r in library.replies] == ["good"]
    problems = {p.path.stem: p.message for p in library.problems}
    assert "did you mean 'title'" in problems["typo"]
    assert set(problems) == {"typo", "bad-toml", "open-ended"}
    with pytest.raises(NotFoundError, match="cannot be used"):
        library.get("typo")
    with pytest.raises(NotFoundError, match="did you mean 'good'"):
        library.get("goood")


def test_the_agents_folder_overrides_a_team_reply_of_the_same_name(tmp_path: Path) -> None:
    write(tmp_path / "mine", "thanks", '+++\ntitle = "Mine"\n+++\nmine\n')
    write(tmp_path / "team", "thanks", '+++\ntitle = "Team"\n+++\nteam\n')
    write(tmp_path / "team", "refund", '+++\ntitle = "Refund"\n+++\nrefund\n')
    library = load_library([tmp_path / "mine", tmp_path / "team"])
    assert library.get("thanks").title == "Mine"
    assert [r.name for r in library.replies] == ["thanks", "refund"]


def test_replies_are_offered_by_channel_kind_or_name(tmp_path: Path) -> None:
    write(tmp_path, "outage", OUTAGE)
    write(tmp_path, "any", "for everyone\n")
    library = load_library([tmp_path])
    assert {r.name for r in library.offered_on("forum-main", "forum")} == {"any"}
    assert {r.name for r in library.offered_on("support", "email")} == {"any", "outage"}


def test_picker_ranks_title_over_keywords_over_body(tmp_path: Path) -> None:
    write(tmp_path, "a", '+++\ntitle = "Refund issued"\n+++\nmoney back\n')
    write(tmp_path, "b", '+++\ntitle = "Billing"\nkeywords = ["refund"]\n+++\nhello\n')
    write(tmp_path, "c", '+++\ntitle = "Thanks"\n+++\nyour refund is on its way\n')
    write(tmp_path, "d", '+++\ntitle = "Shipping"\n+++\nit ships today\n')
    library = load_library([tmp_path])
    assert [r.name for r in rank(library.replies, "refund")] == ["a", "b", "c"]
    assert [r.name for r in rank(library.replies, "rfnd")][0] == "a"  # letters in order
    assert rank(library.replies, "refund ships") == []
    assert len(rank(library.replies, "")) == 4


def _fields(context: ReplyContext) -> dict[str, object]:
    return {name: getattr(context, name) for name in context.__dataclass_fields__}


def test_a_file_changed_since_the_last_load_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, "thanks", '+++\ntitle = "Thanks"\n+++\nThanks!\n')
    assert load_library([tmp_path]).get("thanks").body == "Thanks!\n"
    path.write_text('+++\ntitle = "Thanks"\n+++\nThank you very much!\n', encoding="utf-8")
    assert load_library([tmp_path]).get("thanks").body == "Thank you very much!\n"
    path.write_text("+++\ntitle = \n+++\nbroken now\n", encoding="utf-8")
    library = load_library([tmp_path])
    assert library.replies == () and library.problems[0].path == path


def test_the_replies_table_names_shared_folders_after_the_agents_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentconsole import config as config_module
    from agentconsole.errors import ConfigError

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    file = str(tmp_path / "etc" / "config.toml")
    config = config_module.parse({"replies": {"dirs": ["/srv/support/replies", "team"]}}, file)
    assert config.reply_folders == (
        tmp_path / "xdg" / "agentconsole" / "replies",
        Path("/srv/support/replies"),
        tmp_path / "etc" / "team",  # relative to the config file's folder
    )
    with pytest.raises(ConfigError, match=r"replies\.dirs must be a list of strings"):
        config_module.parse({"replies": {"dirs": "/srv/support/replies"}}, file)
