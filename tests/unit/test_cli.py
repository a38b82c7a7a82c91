"""The command line as scripts use it: JSON Lines schema, exit codes, fast start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentconsole.store import Store
from tests.conftest import inbound


def run(
    store_location: str | Path, *args: str, stdin: str | None = None, config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, acting as alice, text in and out."""
    return _cli(store_location, args, stdin, config, text=True)


def run_bytes(
    store_location: str | Path, *args: str, stdin: bytes | None = None, config: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The same, bytes in and out (mail pipes, raw originals)."""
    return _cli(store_location, args, stdin, config, text=False)


def _cli(
    store_location: str | Path,
    args: tuple[str, ...],
    stdin: Any,
    config: Path | None,
    *,
    text: bool,
) -> Any:
    env = {
        **os.environ,
        "AGENTCONSOLE_AGENT": "alice",
        "AGENTCONSOLE_CONFIG": str(config or os.devnull),
    }
    return subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", "--store", str(store_location), *args],
        input=stdin,
        # Without input, stdin is closed to the child: a command that would read it sees
        # the end at once instead of waiting on whatever the test runner's stdin is.
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=text,
        env=env,
        timeout=60,
    )


@pytest.fixture
async def seeded(store: Store, store_location: str | Path) -> Path:
    await store.ingest(
        "mail",
        [
            inbound(
                "My invoice is wrong", subject="Invoice [bold]\x1b]0;pwned\x07", external_id="<a@x>"
            )
        ],
    )
    await store.ingest("chat", [inbound("hello?", thread_key="r1", minutes=5)])
    return store_location


def lines(result: subprocess.CompletedProcess[str]) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_list_and_show_json_schema(seeded: Path) -> None:
    conversations = lines(run(seeded, "list", "--json"))
    assert len(conversations) == 2
    first = conversations[0]
    for key in (
        "id",
        "channel",
        "channel_type",
        "status",
        "priority",
        "assignee",
        "tags",
        "subject",
        "contact",
        "created_at",
        "updated_at",
    ):
        assert key in first
    assert first["contact"]["identities"] == [{"namespace": "email", "address": "ada@example.com"}]
    assert {c["channel_type"] for c in conversations} == {"email", "chat"}
    [shown] = lines(run(seeded, "--json", "show", str(first["id"])))
    message = shown["messages"][0]
    assert {"id", "direction", "author", "sent_at", "body", "state"} <= set(message)
    assert message["direction"] == "in"


async def test_actions_round_trip_and_filters(seeded: Path) -> None:
    [mail] = lines(run(seeded, "list", "--channel", "mail", "--json"))
    cid = str(mail["id"])
    assert run(seeded, "reply", cid, stdin="We refunded you.").returncode == 0
    assert run(seeded, "note", cid, stdin="refund approved by finance").returncode == 0
    assert run(seeded, "assign", cid, "--me").returncode == 0
    assert run(seeded, "tag", cid, "+billing", "vip").returncode == 0
    assert run(seeded, "tag", cid, "-vip").returncode == 0
    assert run(seeded, "priority", cid, "high").returncode == 0
    [shown] = lines(run(seeded, "show", cid, "--json"))
    assert [m["direction"] for m in shown["messages"]] == ["in", "out", "note"]
    assert shown["messages"][1]["state"] == "queued"
    assert (shown["assignee"], shown["tags"], shown["priority"]) == ("alice", ["billing"], "high")
    assert [c["id"] for c in lines(run(seeded, "list", "--tag", "billing", "--json"))] == [
        mail["id"]
    ]
    assert [c["id"] for c in lines(run(seeded, "list", "--assignee", "alice", "--json"))] == [
        mail["id"]
    ]
    assert run(seeded, "snooze", cid, "in", "2h").returncode == 0
    assert lines(run(seeded, "list", "--status", "snoozed", "--json"))[0]["id"] == mail["id"]
    assert run(seeded, "close", cid).returncode == 0
    assert lines(run(seeded, "list", "--status", "closed", "--json"))[0]["id"] == mail["id"]
    assert run(seeded, "reopen", cid).returncode == 0
    assert [a["action"] for a in lines(run(seeded, "audit", cid, "--json"))][:3] == [
        "reply",
        "note",
        "assign",
    ]


async def test_exit_codes(seeded: Path, tmp_path: Path) -> None:
    assert run(seeded, "show", "999").returncode == 3
    assert run(seeded, "priority", "1", "whenever").returncode == 2
    assert run(seeded, "snooze", "1", "someday", "maybe").returncode == 2
    assert run(seeded, "frobnicate").returncode == 2
    assert run(seeded, "assign", "1", "bob").returncode == 0
    taken = run(seeded, "assign", "1", "carol")
    assert taken.returncode == 4 and "bob" in taken.stderr
    assert run(seeded, "assign", "1", "carol", "--force").returncode == 0
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[agnet]\n")
    broken = run(seeded, "list", config=bad_config)
    assert broken.returncode == 2 and "did you mean 'agent'" in broken.stderr
    assert run(tmp_path / "missing.db", "list").returncode == 1


async def test_hostile_text_is_neutralized_in_plain_and_json_output(seeded: Path) -> None:
    plain = run(seeded, "list")
    assert "\x1b" not in plain.stdout and "Invoice [bold]␛]0;pwned␇" in plain.stdout
    shown = run(seeded, "show", "1")
    assert "\x1b" not in shown.stdout
    raw = run(seeded, "list", "--json").stdout
    assert "\x1b" not in raw and "\\u001b]0;pwned" in raw


async def test_search_finds_newest_first(seeded: Path) -> None:
    hits = lines(run(seeded, "search", "invoice", "--json"))
    assert hits and hits[0]["subject"].startswith("Invoice")
    unbalanced = run(seeded, "search", '"unbalanced')
    assert unbalanced.returncode == 2  # a query error, pointed at
    assert "never closed" in unbalanced.stderr and "^" in unbalanced.stderr


def test_scripts_never_import_textual(tmp_path: Path) -> None:
    probe = (
        "import sys; from agentconsole.cli import main; "
        f"code = main(['--store', {str(tmp_path / 'x.db')!r}, 'plugins']); "
        "print('textual' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTCONSOLE_CONFIG": os.devnull},
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_demo_seed_only_writes_a_store_scripts_can_read(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    result = run(path, "demo", "--seed-only")
    assert result.returncode == 0, result.stderr
    assert "conversations" in result.stdout
    conversations = lines(run(path, "list", "--status", "any", "--json"))
    assert len(conversations) >= 300
    assert {c["channel_type"] for c in conversations} == {"email", "chat", "forum"}
    assert run(tmp_path / "x.db", "demo", "--seed-only", "--store", "").returncode == 2


def test_plugins_and_channels_report_health(tmp_path: Path) -> None:
    listed = {p["type"]: p for p in lines(run(tmp_path / "s.db", "plugins", "--json"))}
    assert {"demo", "api", "feed", "discourse", "matrix", "irc"} <= set(listed)
    assert all(p["error"] is None for p in listed.values())
    assert "read_only" in listed["feed"]["capabilities"]
    config = tmp_path / "config.toml"
    config.write_text(
        '[channels.broken-feed]\ntype = "feed"\nurl = "http://127.0.0.1:9/feed.xml"\ntimeout = 2\n'
        '[channels.typo]\ntype = "demo"\nkidn = "chat"\n'
    )
    store = tmp_path / "s.db"
    synced = run(store, "sync", "--once", config=config)
    assert synced.returncode == 1
    channels = {c["name"]: c for c in lines(run(store, "channels", "--json", config=config))}
    assert channels["broken-feed"]["health"] == "error" and channels["broken-feed"]["detail"]
    assert "did you mean 'kind'" in channels["typo"]["config_error"]


async def test_reply_with_an_attachment(seeded: Path, tmp_path: Path) -> None:
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4 refund")
    assert (
        run(seeded, "reply", "1", "--attach", str(invoice), stdin="Refund attached.").returncode
        == 0
    )
    [shown] = lines(run(seeded, "show", "1", "--json"))
    attachment = shown["messages"][-1]["attachments"][0]
    assert (attachment["filename"], attachment["content_type"]) == (
        "invoice.pdf",
        "application/pdf",
    )
    missing = run(seeded, "reply", "1", "--attach", str(tmp_path / "nope.pdf"), stdin="x")
    assert missing.returncode == 2 and "nope.pdf" in missing.stderr
    saved = tmp_path / "copy.pdf"
    assert run(seeded, "save", str(attachment["id"]), "-o", str(saved)).returncode == 0
    assert saved.read_bytes() == b"%PDF-1.4 refund"
    assert run(seeded, "save", str(attachment["id"]), "-o", str(saved)).returncode == 4


async def test_reply_expect_last_refuses_when_someone_answered_meanwhile(seeded: Path) -> None:
    [shown] = lines(run(seeded, "show", "1", "--json"))
    last = str(shown["messages"][-1]["id"])
    env_bob = {"AGENTCONSOLE_AGENT": "bob"}
    bob = subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", "--store", str(seeded), "reply", "1"],
        input="bob's answer",
        capture_output=True,
        text=True,
        env={**os.environ, "AGENTCONSOLE_CONFIG": os.devnull, **env_bob},
        timeout=60,
    )
    assert bob.returncode == 0, bob.stderr
    mine = run(seeded, "reply", "1", "--expect-last", last, stdin="alice's answer")
    assert mine.returncode == 4 and "bob replied" in mine.stderr


def test_deliver_to_a_channel_that_takes_no_pipe_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[channels.chat]\ntype = "demo"\nkind = "chat"\n')
    result = run(tmp_path / "s.db", "deliver", "--channel", "chat", stdin="hello", config=config)
    assert result.returncode == 2 and "does not accept piped messages" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_locked_store_is_a_clear_error_and_deliver_asks_to_retry(tmp_path: Path) -> None:
    import sqlite3 as sql

    store_file = tmp_path / "s.db"
    config = tmp_path / "config.toml"
    config.write_text(
        '[channels.mail]\ntype = "email"\nmaildir = "/nonexistent"\n'
        'from_address = "support@acme.example"\n'
    )
    assert (
        run(
            store_file,
            "deliver",
            "--channel",
            "mail",
            config=config,
            stdin="From: a@b.example\n\nhi\n",
        ).returncode
        == 0
    )
    holder = sql.connect(store_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        env = {**os.environ, "AGENTCONSOLE_CONFIG": str(config)}
        script = (
            "import agentconsole.store.sqlite.connection as c; c.BUSY_TIMEOUT_MS = 200; "
            "import sys; from agentconsole.cli import main; sys.exit(main())"
        )
        busy = subprocess.run(
            [
                sys.executable,
                "-c",
                script,
                "--store",
                str(store_file),
                "deliver",
                "--channel",
                "mail",
            ],
            input="From: c@d.example\n\nagain\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert busy.returncode == 75, busy.stderr
        assert "try again" in busy.stderr and "Traceback" not in busy.stderr
        closing = subprocess.run(
            [sys.executable, "-c", script, "--store", str(store_file), "close", "1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert closing.returncode == 1 and "store is busy" in closing.stderr
    finally:
        holder.execute("ROLLBACK")


async def test_report_lists_each_channel_and_a_total(seeded: Path) -> None:
    entries = lines(run(seeded, "report", "--since", "10000d", "--json"))
    assert [e["channel"] for e in entries] == ["chat", "mail", "all channels"]
    assert entries[-1]["new"] == 2 and entries[-1]["backlog"] == 2
    assert {"median_first_response_seconds", "first_contact_resolution", "sla_breaches"} <= set(
        entries[-1]
    )
    assert run(seeded, "report", "--since", "whenever").returncode == 2
