"""`agentconsole store init` on PostgreSQL: agents work through the store but can never
change or delete the audit log, and a store that needs an upgrade tells an agent who may
apply it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from agentconsole.store import connect
from tests.conftest import inbound
from tests.postgres_server import PostgresServer


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


async def test_agents_may_add_to_the_audit_log_but_never_change_it(
    postgres: PostgresServer,
) -> None:
    url = postgres.new_database()
    init = cli("--store", url, "store", "init", "--agent", "alice_agent")
    assert init.returncode == 0, init.stderr
    assert "only add to audit_log" in init.stdout
    # alice works through the store as herself (her role's privileges, not the admin's)
    as_alice = url + "&options=-c%20role%3Dalice_agent"
    store = await connect(as_alice, agent="alice")
    try:
        await store.ensure_channel("mail", "email", "email")
        report = await store.ingest("mail", [inbound("help", thread_key="t")])
        await store.set_status(report.created[0], "closed")
        entries = await store.audit_log(report.created[0])
        assert [e.action for e in entries]
        assert (await store.verify_audit()).intact
    finally:
        await store.close()
    with psycopg.connect(as_alice) as conn:
        login = conn.info.user
        # The server writes who the session is: a client claiming another account is
        # overruled, and the chain then shows the forged row as broken.
        conn.execute(
            "INSERT INTO audit_log(id, at, agent, account, action, detail)"
            " VALUES (1000000, 0, 'mallory', 'mallory', 'forged', '{}')"
        )
        accounts = {r[0] for r in conn.execute("SELECT DISTINCT account FROM audit_log")}
        assert accounts == {login}
        for statement in ("UPDATE audit_log SET agent = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE messages")


def test_store_init_refuses_a_store_file(tmp_path: Path) -> None:
    refused = cli("--store", str(tmp_path / "s.db"), "store", "init")
    assert refused.returncode == 2
    assert "store share --group" in refused.stderr
