"""Saved replies from the command line: listing them (broken files too), showing one, and
``reply ID… --template NAME`` filling one in per conversation — all or nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agentconsole.models import Change
from agentconsole.store import Store
from tests.conftest import inbound
from tests.unit.test_cli import run

OUTAGE = """+++
title = "Outage: we are on it"
keywords = ["outage", "down"]
tags = ["+outage", "-billing"]
status = "pending"
+++
Hi {customer.first_name},

we know payments fail since {conversation.created_at:%H:%M} and are on it.
--\x20
{agent.display_name}
"""


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The agent's own folder (under a private XDG_CONFIG_HOME), a team folder named in the
    config, and the config file."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("TZ", "UTC")
    mine = home / "agentconsole" / "replies"
    team = tmp_path / "team"
    for folder in (mine, team):
        folder.mkdir(parents=True)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\nname = "alice"\ndisplay_name = "Alice from Acme"\n\n'
        f"[replies]\ndirs = [{json.dumps(str(team))}]\n",
        encoding="utf-8",
    )
    (team / "outage.md").write_text(OUTAGE, encoding="utf-8")
    return {"mine": mine, "team": team, "config": config}


@pytest.fixture
async def conversations(store: Store) -> dict[str, int]:
    """Two email conversations (Ada, Bob) tagged billing and a chat one with no address."""
    ids: dict[str, int] = {}
    for key, name, email in (
        ("ada", "Ada Lovelace", "ada@example.com"),
        ("bob", "Bob Stone", "bob@example.com"),
    ):
        report = await store.ingest(
            "mail", [inbound("Payments fail", name=name, email=email, subject="Card declined")]
        )
        ids[key] = report.created[0]
    report = await store.ingest(
        "chat", [inbound("down?", name="Visitor 7", email=None, thread_key="c1")]
    )
    ids["chat"] = report.created[0]
    await store.apply([ids["ada"], ids["bob"]], Change("tags", add=("billing",)))
    return ids


def cli(
    store_location: str | Path, folders: dict[str, Path], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run(store_location, *args, stdin=stdin, config=folders["config"])


async def replies_sent(store: Store, conversation_id: int) -> list[str]:
    detail = await store.conversation(conversation_id)
    return [m.body for m in detail.messages if m.direction == "out"]


def test_replies_list_names_every_reply_and_each_broken_file(
    store_location: str | Path, folders: dict[str, Path]
) -> None:
    (folders["mine"] / "thanks.md").write_text(
        '+++\ntitle = "Thanks"\nchannels = ["chat"]\n+++\nThanks {customer.first_name}!\n',
        encoding="utf-8",
    )
    (folders["team"] / "broken.md").write_text('+++\ntitel = "x"\n+++\nbody\n', encoding="utf-8")
    (folders["team"] / "typo.md").write_text("Hi {customer.frist_name}\n", encoding="utf-8")
    listed = cli(store_location, folders, "replies")  # no store needed to list them
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "Outage: we are on it" in rows["outage"] and rows["outage"].endswith("all")
    assert rows["thanks"].endswith("chat")
    assert "BROKEN" in rows["broken"] and "did you mean 'title'" in rows["broken"]
    assert "ERROR unknown placeholder {customer.frist_name}" in rows["typo"]
    assert "ERROR" not in rows["outage"]
    entries = [
        json.loads(line)
        for line in cli(store_location, folders, "replies", "list", "--json").stdout.splitlines()
    ]
    by_name = {entry["name"]: entry for entry in entries}
    assert by_name["outage"]["tags"] == ["+outage", "-billing"]
    assert by_name["outage"]["placeholders"] == [
        "agent.display_name",
        "conversation.created_at",
        "customer.first_name",
    ]
    assert "did you mean 'title'" in by_name["broken"]["error"]


def test_replies_show_prints_the_template_and_its_fields(
    store_location: str | Path, folders: dict[str, Path]
) -> None:
    shown = cli(store_location, folders, "replies", "show", "outage")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == OUTAGE.split("+++\n")[2]
    [data] = [
        json.loads(line)
        for line in cli(
            store_location, folders, "replies", "show", "outage", "--json"
        ).stdout.splitlines()
    ]
    assert (data["title"], data["status"], data["body"]) == (
        "Outage: we are on it",
        "pending",
        shown.stdout,
    )
    missing = cli(store_location, folders, "replies", "show", "outgae")
    assert missing.returncode == 3 and "did you mean 'outage'" in missing.stderr


def test_an_unknown_key_in_the_replies_table_is_refused(
    store_location: str | Path, folders: dict[str, Path]
) -> None:
    folders["config"].write_text('[replies]\ndir = ["/srv/support/replies"]\n', encoding="utf-8")
    result = cli(store_location, folders, "replies")
    assert result.returncode == 2
    assert str(folders["config"]) in result.stderr
    assert "'dir' in [replies]; did you mean 'dirs'?" in result.stderr


async def test_reply_template_fills_in_queues_and_applies_its_macro(
    store: Store,
    store_location: str | Path,
    folders: dict[str, Path],
    conversations: dict[str, int],
) -> None:
    ada = conversations["ada"]
    result = cli(store_location, folders, "reply", str(ada), "--template", "outage", "--json")
    assert result.returncode == 0, result.stderr
    [queued] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (queued["conversation"], queued["state"], queued["status"]) == (ada, "queued", "pending")
    [body] = await replies_sent(store, ada)
    assert body == (
        "Hi Ada,\n\nwe know payments fail since 09:00 and are on it.\n-- \nAlice from Acme\n"
    )
    row = (await store.conversation_rows([ada]))[ada]
    assert (row.status, row.tags) == ("pending", ("outage",))


async def test_a_chat_reply_drops_the_signature_and_channels_limit_where_a_reply_goes(
    store: Store,
    store_location: str | Path,
    folders: dict[str, Path],
    conversations: dict[str, int],
) -> None:
    chat = conversations["chat"]
    (folders["mine"] / "hello.md").write_text(
        "Hello {customer.name}!\n--\x20\n{agent.display_name}\n", encoding="utf-8"
    )
    assert cli(store_location, folders, "reply", str(chat), "--template", "hello").returncode == 0
    assert await replies_sent(store, chat) == ["Hello Visitor 7!\n"]
    (folders["mine"] / "mailonly.md").write_text(
        '+++\nchannels = ["email"]\n+++\nSee the attached invoice.\n', encoding="utf-8"
    )
    refused = cli(store_location, folders, "reply", str(chat), "--template", "mailonly")
    assert refused.returncode == 2
    assert "offered on email only" in refused.stderr and "chat" in refused.stderr
    assert await replies_sent(store, chat) == ["Hello Visitor 7!\n"]


async def test_an_unknown_placeholder_is_refused_and_nothing_is_queued(
    store: Store,
    store_location: str | Path,
    folders: dict[str, Path],
    conversations: dict[str, int],
) -> None:
    (folders["mine"] / "typo.md").write_text("Hi {customer.frist_name}\n", encoding="utf-8")
    result = cli(
        store_location,
        folders,
        "reply",
        str(conversations["ada"]),
        str(conversations["bob"]),
        "--template",
        "typo",
    )
    assert result.returncode == 2
    assert (
        "did you mean {customer.first_name}" in result.stderr
        and "nothing was queued" in result.stderr
    )
    assert await replies_sent(store, conversations["ada"]) == []
    assert await replies_sent(store, conversations["bob"]) == []


async def test_one_conversation_that_cannot_be_filled_stops_all_of_them(
    store: Store,
    store_location: str | Path,
    folders: dict[str, Path],
    conversations: dict[str, int],
) -> None:
    (folders["mine"] / "confirm.md").write_text(
        "We will write to {customer.email}.\n", encoding="utf-8"
    )
    ids = [str(conversations[key]) for key in ("ada", "chat", "bob")]
    result = cli(store_location, folders, "reply", *ids, "--template", "confirm")
    assert result.returncode == 2
    assert f"#{conversations['chat']}: {{customer.email}} cannot be filled" in result.stderr
    for conversation_id in conversations.values():
        assert await replies_sent(store, conversation_id) == []
    row = (await store.conversation_rows([conversations["ada"]]))[conversations["ada"]]
    assert row.tags == ("billing",)


async def test_several_ids_and_a_query_get_one_filled_in_reply_each(
    store: Store,
    store_location: str | Path,
    folders: dict[str, Path],
    conversations: dict[str, int],
) -> None:
    result = cli(
        store_location,
        folders,
        "reply",
        str(conversations["chat"]),
        "--query",
        "tag:billing",
        "--template",
        "outage",
        "--close",
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    assert (await replies_sent(store, conversations["ada"]))[0].startswith("Hi Ada,")
    assert (await replies_sent(store, conversations["bob"]))[0].startswith("Hi Bob,")
    assert "Alice from Acme" not in (await replies_sent(store, conversations["chat"]))[0]
    rows = await store.conversation_rows(list(conversations.values()))
    assert {row.status for row in rows.values()} == {
        "closed"
    }  # --close wins over the file's status
    assert all(row.tags == ("outage",) for row in rows.values())


async def test_a_body_on_stdin_with_a_template_is_an_error(
    store: Store,
    store_location: str | Path,
    folders: dict[str, Path],
    conversations: dict[str, int],
) -> None:
    ada = str(conversations["ada"])
    both = cli(store_location, folders, "reply", ada, "--template", "outage", stdin="typed too")
    assert both.returncode == 2 and "not both" in both.stderr
    several = cli(store_location, folders, "reply", ada, str(conversations["bob"]), stdin="typed")
    assert several.returncode == 2 and "--template" in several.stderr
    assert await replies_sent(store, conversations["ada"]) == []


async def test_a_query_alone_selects_the_conversations(
    store: Store,
    store_location: str | Path,
    folders: dict[str, Path],
    conversations: dict[str, int],
) -> None:
    nobody = cli(store_location, folders, "reply", "--query", "tag:nothing", "--template", "outage")
    assert nobody.returncode == 2 and "no conversation matches 'tag:nothing'" in nobody.stderr
    billing = cli(
        store_location, folders, "reply", "--query", "tag:billing", "--template", "outage"
    )
    assert billing.returncode == 0, billing.stderr
    assert len(await replies_sent(store, conversations["ada"])) == 1
    assert len(await replies_sent(store, conversations["bob"])) == 1
    assert await replies_sent(store, conversations["chat"]) == []
