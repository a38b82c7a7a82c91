"""The audit log is tamper-evident and records the real account: an entry edited, deleted or
inserted with sqlite3 makes `agentconsole audit --verify` fail naming it, and neither
$LOGNAME/$USER nor a configured name hides the Unix account that acted."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentconsole.store import Store
from tests.conftest import inbound

#: The SQLite answer to tampering: these tests edit the store file behind its back.
pytestmark = pytest.mark.sqlite_only

ACCOUNT = pwd.getpwuid(os.geteuid()).pw_name


def cli(
    store_path: Path, *args: str, config: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "AGENTCONSOLE_AGENT"}
    environment.update(AGENTCONSOLE_CONFIG=str(config or os.devnull), **env)
    return subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", "--store", str(store_path), *args],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@contextlib.contextmanager
def raw(store_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(store_path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
async def audited(store: Store, store_path: Path) -> Path:
    """A store with six audit entries, closed."""
    report = await store.ingest("mail", [inbound("hello")])
    conversation = report.created[0]
    await store.assign(conversation, "alice")
    await store.set_priority(conversation, 0)
    await store.retag(conversation, ["vip"], [])
    await store.set_status(conversation, "pending")
    await store.set_status(conversation, "open")
    await store.add_note(conversation, "called the customer")
    await store.close()
    with raw(store_path) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] >= 6
    return store_path


def verify(store_path: Path) -> tuple[int, str]:
    result = cli(store_path, "audit", "--verify")
    return result.returncode, result.stdout + result.stderr


def test_an_untouched_log_verifies(audited: Path) -> None:
    code, text = verify(audited)
    assert code == 0 and "the audit log is intact" in text


def test_an_edited_entry_is_named(audited: Path) -> None:
    with raw(audited) as conn:
        conn.execute("UPDATE audit_log SET agent = 'mallory' WHERE id = 3")
    code, text = verify(audited)
    assert code == 5 and "audit entry 3 was changed" in text


def test_a_deleted_entry_is_named(audited: Path) -> None:
    with raw(audited) as conn:
        conn.execute("DELETE FROM audit_log WHERE id = 2")
    code, text = verify(audited)
    assert code == 5 and "audit entry 2 was removed" in text


def test_deleting_the_newest_entries_shows_too(audited: Path) -> None:
    with raw(audited) as conn:
        (last,) = conn.execute("SELECT max(id) FROM audit_log").fetchone()
        conn.execute("DELETE FROM audit_log WHERE id >= ?", (last - 1,))
    code, text = verify(audited)
    assert code == 5 and f"audit entry {last - 1} was removed" in text


@pytest.mark.parametrize("where", ["end", "start"])
def test_an_inserted_entry_is_named(audited: Path, where: str) -> None:
    with raw(audited) as conn:
        if where == "end":
            (entry,) = conn.execute(
                "INSERT INTO audit_log(at, agent, action, detail) VALUES (1e9, 'bob', 'assign',"
                " '{}') RETURNING id"
            ).fetchone()
        else:
            entry = 0
            conn.execute(
                "INSERT INTO audit_log(id, at, agent, action, detail, chain)"
                " VALUES (0, 1e9, 'bob', 'assign', '{}', 'ab')"
            )
    code, text = verify(audited)
    assert code == 5 and f"audit entry {entry} was inserted" in text


def test_verify_speaks_json(audited: Path) -> None:
    with raw(audited) as conn:
        conn.execute('UPDATE audit_log SET detail = \'{"to": "bob"}\' WHERE id = 4')
    result = cli(audited, "--json", "audit", "--verify")
    assert result.returncode == 5
    answer = json.loads(result.stdout)
    assert (answer["intact"], answer["entry"], answer["problem"]) == (False, 4, "changed")


def test_spoofed_logname_is_recorded_as_the_real_account(audited: Path) -> None:
    result = cli(
        audited, "--json", "assign", "1", "--me", "--force", LOGNAME="mallory", USER="mallory"
    )
    assert result.returncode == 0, result.stderr
    listed = [json.loads(line) for line in cli(audited, "--json", "audit").stdout.splitlines()]
    newest = listed[-1]
    assert (newest["action"], newest["agent"], newest["account"]) == ("assign", ACCOUNT, ACCOUNT)
    assert verify(audited)[0] == 0


def test_a_configured_name_is_shown_with_the_account(audited: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "mallory"\n')
    assert cli(audited, "tag", "1", "+spoof", config=config).returncode == 0
    line = cli(audited, "audit", config=config).stdout.splitlines()[-1]
    assert f"mallory ({ACCOUNT})" in line


def test_on_a_team_store_the_agent_is_the_account_unless_the_owner_allows_aliases(
    audited: Path, tmp_path: Path
) -> None:
    os.chmod(audited, 0o660)  # what `store share` makes it
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "mallory"\n')
    result = cli(audited, "tag", "1", "+team", config=config)
    assert result.returncode == 0 and "team store: acting as your account" in result.stderr
    result = cli(audited, "--json", "assign", "1", "--me", "--force", config=config)
    assert result.returncode == 0 and f'"assignee": "{ACCOUNT}"' in result.stdout
    entries = [json.loads(line) for line in cli(audited, "--json", "audit").stdout.splitlines()]
    assert entries[-1]["agent"] == ACCOUNT
    assert cli(audited, "store", "allow-aliases", config=config).returncode == 0
    assert cli(audited, "tag", "1", "+alias", config=config).returncode == 0
    line = cli(audited, "audit", config=config).stdout.splitlines()[-1]
    assert f"mallory ({ACCOUNT})" in line and "alias" in line
    assert verify(audited)[0] == 0
