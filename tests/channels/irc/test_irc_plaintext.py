"""A password never crosses the network in clear text: tls = false only to this machine."""

from __future__ import annotations

import pytest

from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from tests.conftest import one_channel_config


@pytest.mark.parametrize("server", ["irc.libera.chat", "10.0.0.7"])
async def test_a_password_over_plain_text_to_another_host_is_refused(
    store: Store, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IRC_TEST_PASSWORD", "hunter2")
    config = one_channel_config(
        "irc",
        {
            "type": "irc",
            "server": server,
            "port": 6667,
            "tls": False,
            "nick": "acme-support",
            "password_env": "IRC_TEST_PASSWORD",
        },
    )
    runner = SyncRunner(store, config)
    try:
        results = await runner.run_once()
    finally:
        await runner.stop()
    reason = results["irc"] or ""
    assert "tls = false would send the password in clear text" in reason
    assert server in reason and "[channels.irc]" in reason
    (channel,) = [c for c in await store.channels() if c.name == "irc"]
    assert channel.health == "error" and "clear text" in (channel.health_detail or "")
