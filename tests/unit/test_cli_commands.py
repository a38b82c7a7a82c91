"""CLI commands as a user meets them: audit, raw, unlink, plugins, save, list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentconsole.plugin import Identity
from agentconsole.store import Store
from tests.conftest import inbound
from tests.unit.test_cli import lines, run, run_bytes


@pytest.fixture
async def seeded(store: Store, store_location: str | Path) -> Path:
    await store.ingest("mail", [inbound("My invoice is wrong", subject="Invoice")])
    await store.ingest(
        "chat",
        [
            inbound(
                "hello?",
                thread_key="r1",
                name="Ada L.",
                email=None,
                identities=(Identity("chat", "ada-7"),),
            )
        ],
    )
    return store_location


# -- audit ------------------------------------------------------------------------------------


async def test_audit_of_an_unknown_conversation_exits_3(seeded: Path) -> None:
    unknown = run(seeded, "audit", "99999")
    assert unknown.returncode == 3 and "no conversation 99999" in unknown.stderr
    assert unknown.stdout == ""
    assert run(seeded, "audit", "1").returncode == 0


async def test_audit_json_detail_is_an_object_with_iso_times_and_priority_names(
    seeded: Path,
) -> None:
    assert run(seeded, "priority", "1", "urgent").returncode == 0
    assert run(seeded, "snooze", "1", "2030-01-02", "10:00").returncode == 0
    entries = lines(run(seeded, "audit", "1", "--json"))
    by_action = {e["action"]: e for e in entries}
    assert by_action["priority"]["detail"] == {"from": "normal", "to": "urgent"}
    snooze = by_action["status"]["detail"]
    assert snooze["to"] == "snoozed" and snooze["until"].endswith("Z")
    assert snooze["until"].startswith("2030-01-02T")
    assert all(e["at"].endswith("Z") for e in entries)
    text = run(seeded, "audit", "1").stdout
    assert "from=normal to=urgent" in text and "until=2030-01-02T" in text


# -- raw --------------------------------------------------------------------------------------

ORIGINAL = (
    b"From: Ad\xe9 Lovelace <ada@example.com>\r\n"
    b"To: support@acme.example\r\n"
    b"Subject: caf\xe9 cr\xe8me\r\n"
    b"Message-ID: <raw-1@example.com>\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Caf\xe9 \xff\xfe bytes,\r\nbare LF\nbare CR\rand a trailing space \r\n"
)


def test_raw_writes_the_delivered_original_byte_for_byte(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[channels.mail]\ntype = "email"\nmaildir = "/nonexistent"\n'
        'from_address = "support@acme.example"\n'
    )
    store = tmp_path / "s.db"
    delivered = run_bytes(store, "deliver", "--channel", "mail", stdin=ORIGINAL, config=config)
    assert delivered.returncode == 0, delivered.stderr
    [shown] = lines(run(store, "show", "1", "--json", config=config))
    message_id = str(shown["messages"][0]["id"])
    raw = run_bytes(store, "raw", message_id, config=config)
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == ORIGINAL
    note = run(store, "note", "1", stdin="called her back", config=config)
    assert note.returncode == 0, note.stderr
    [shown] = lines(run(store, "show", "1", "--json", config=config))
    note_id = str(shown["messages"][-1]["id"])
    without = run_bytes(store, "raw", note_id, config=config)
    assert without.returncode == 3 and without.stdout == b""
    assert b"has no stored original" in without.stderr
    unknown = run_bytes(store, "raw", "99999", config=config)
    assert unknown.returncode == 3 and b"no message 99999" in unknown.stderr


def test_raw_on_a_terminal_neutralises_control_sequences(tmp_path: Path) -> None:
    import pty

    config = tmp_path / "config.toml"
    config.write_text(
        '[channels.mail]\ntype = "email"\nmaildir = "/nonexistent"\n'
        'from_address = "support@acme.example"\n'
    )
    store = tmp_path / "s.db"
    hostile = b"From: a@b.example\r\nSubject: hi\r\n\r\nretitled \x1b]0;pwned\x07 done\r\n"
    assert (
        run_bytes(store, "deliver", "--channel", "mail", stdin=hostile, config=config).returncode
        == 0
    )
    assert run_bytes(store, "raw", "1", config=config).stdout == hostile
    controller, terminal = pty.openpty()
    env = {**os.environ, "AGENTCONSOLE_CONFIG": str(config)}
    process = subprocess.Popen(
        [sys.executable, "-m", "agentconsole.cli", "--store", str(store), "raw", "1"],
        stdout=terminal,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process is done writing
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert b"retitled" in shown and b"done" in shown
    assert b"\x1b" not in shown and b"\x07" not in shown
    assert b"redirect" in stderr


# -- unlink -----------------------------------------------------------------------------------


async def _two_contacts(seeded: Path) -> tuple[int, int]:
    contacts = {c["channel"]: c["contact"]["id"] for c in lines(run(seeded, "list", "--json"))}
    return contacts["mail"], contacts["chat"]


@pytest.mark.parametrize("undo_with", ["kept", "merged"])
async def test_unlink_accepts_either_contact_of_a_link(seeded: Path, undo_with: str) -> None:
    kept, merged = await _two_contacts(seeded)
    assert kept != merged
    assert run(seeded, "link", str(kept), str(merged)).returncode == 0
    assert len({c["contact"]["id"] for c in lines(run(seeded, "list", "--json"))}) == 1
    given = kept if undo_with == "kept" else merged
    undone = run(seeded, "unlink", str(given), "--json")
    [restored] = lines(undone)
    assert restored["id"] == merged
    assert {c["contact"]["id"] for c in lines(run(seeded, "list", "--json"))} == {kept, merged}
    again = run(seeded, "unlink", str(given))
    assert again.returncode == 3 and "no link to undo" in again.stderr
    assert run(seeded, "unlink", "9999").returncode == 3


# -- plugins ----------------------------------------------------------------------------------


def test_plugins_text_lists_each_plugins_options(tmp_path: Path) -> None:
    text = run(tmp_path / "s.db", "plugins").stdout
    email = text[text.index("\nemail ") :].split("\nfeed ")[0]
    assert "    from_address " in email and "(required)" in email
    assert "    password_command|_env|_keyring " in email
    assert "    imap_tls " in email


# -- save -------------------------------------------------------------------------------------


def _save_in(
    seeded: Path, home: Path, cwd: Path, attachment_id: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("XDG_DOWNLOAD_DIR", "XDG_CONFIG_HOME")
    }
    environment.update(
        HOME=str(home), AGENTCONSOLE_CONFIG=os.devnull, AGENTCONSOLE_AGENT="alice", **env
    )
    return subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", "--store", str(seeded), "save", attachment_id],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


async def _attachment(seeded: Path, tmp_path: Path) -> str:
    file = tmp_path / "refund.pdf"
    file.write_bytes(b"%PDF refund")
    assert run(seeded, "reply", "1", "--attach", str(file), stdin="attached").returncode == 0
    [shown] = lines(run(seeded, "show", "1", "--json"))
    return str(shown["messages"][-1]["attachments"][0]["id"])


async def test_save_uses_the_xdg_download_folder(seeded: Path, tmp_path: Path) -> None:
    attachment = await _attachment(seeded, tmp_path)
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    (home / ".config").mkdir(parents=True)
    cwd.mkdir()
    (home / "Téléchargements").mkdir()
    (home / ".config" / "user-dirs.dirs").write_text(
        '# written by xdg-user-dirs-update\nXDG_DOWNLOAD_DIR="$HOME/Téléchargements"\n'
    )
    saved = _save_in(seeded, home, cwd, attachment)
    assert saved.returncode == 0, saved.stderr
    assert (home / "Téléchargements" / "refund.pdf").read_bytes() == b"%PDF refund"
    assert str(home / "Téléchargements" / "refund.pdf") in saved.stdout
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    saved = _save_in(seeded, home, cwd, attachment, XDG_DOWNLOAD_DIR=str(explicit))
    assert saved.returncode == 0 and (explicit / "refund.pdf").exists()


async def test_save_without_a_download_folder_says_it_wrote_to_the_current_folder(
    seeded: Path, tmp_path: Path
) -> None:
    attachment = await _attachment(seeded, tmp_path)
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    saved = _save_in(seeded, home, cwd, attachment)
    assert saved.returncode == 0, saved.stderr
    assert (cwd / "refund.pdf").read_bytes() == b"%PDF refund"
    assert f"saved {cwd / 'refund.pdf'}" in saved.stdout
    assert "current folder" in saved.stderr and "-o PATH" in saved.stderr
    (home / "Downloads").mkdir()
    saved = _save_in(seeded, home, cwd, attachment)
    assert saved.returncode == 0 and (home / "Downloads" / "refund.pdf").exists()
    assert saved.stderr == ""


# -- list -------------------------------------------------------------------------------------


async def test_closed_conversations_are_listed_as_closed_not_waiting(seeded: Path) -> None:
    assert run(seeded, "close", "1").returncode == 0
    listed = run(seeded, "list", "--status", "any").stdout.splitlines()
    closed = next(line for line in listed if line.split()[0] == "1")
    assert "waiting" not in closed and "closed " in closed
    still_open = next(line for line in listed if line.split()[0] == "2")
    assert "waiting " in still_open
    [row] = [r for r in lines(run(seeded, "list", "--status", "any", "--json")) if r["id"] == 1]
    assert row["status"] == "closed" and row["waiting_since"] is None
