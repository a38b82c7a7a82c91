"""Who acts is the account the process runs as, not whatever $LOGNAME or $USER say."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

from agentconsole.store import Store, connect
from tests.conftest import inbound


async def test_logname_and_user_cannot_choose_the_agent(
    store: Store, store_location: str | Path
) -> None:
    report = await store.ingest("mail", [inbound("hello")])
    await store.close()
    env = {k: v for k, v in os.environ.items() if k != "AGENTCONSOLE_AGENT"}
    env.update(LOGNAME="mallory", USER="mallory", AGENTCONSOLE_CONFIG=os.devnull)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentconsole.cli",
            "--store",
            str(store_location),
            "--json",
            "assign",
            str(report.created[0]),
            "--me",
        ],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    account = pwd.getpwuid(os.geteuid()).pw_name
    assert account != "mallory"
    assert f'"assignee": "{account}"' in result.stdout
    reopened = await connect(store_location, agent="reader")
    try:
        (entry,) = [e for e in await reopened.audit_log() if e.action == "assign"]
        assert entry.agent == account
    finally:
        await reopened.close()
