"""The plugin contract, checked over every installed channel plugin."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

import pytest

from agentconsole import plugins
from agentconsole.plugin import (
    Capabilities,
    ChannelContext,
    ChannelPlugin,
    FetchResult,
    InboundMessage,
    Option,
)

SOURCES = plugins.discover(None)
OPTION_TYPES = (str, int, float, bool, list)


@pytest.fixture(params=sorted(SOURCES), ids=str)
def plugin_class(request: pytest.FixtureRequest) -> type[ChannelPlugin]:
    return plugins.load(SOURCES[request.param])


def test_bundled_plugins_are_installed() -> None:
    assert "demo" in SOURCES


def test_declarations(plugin_class: type[ChannelPlugin]) -> None:
    assert plugin_class.kind in ("email", "chat", "forum")
    assert isinstance(plugin_class.capabilities, Capabilities)
    if plugin_class.capabilities.read_only:
        assert not plugin_class.capabilities.reply
    assert isinstance(plugin_class.resend_when_unsure, bool)
    # The optional follow-up step is a coroutine like send (the base one does nothing).
    assert asyncio.iscoroutinefunction(plugin_class.after_send)
    names = [option.name for option in plugin_class.options]
    assert len(names) == len(set(names)), "option names must be unique"
    for option in plugin_class.options:
        assert isinstance(option, Option) and option.type in OPTION_TYPES and option.help
        assert not option.name.startswith("_") and option.name not in ("type", "enabled")
        if option.secret:
            assert option.default is None, f"secret {option.name} must not have a default"
        elif option.default is not None:
            assert isinstance(option.default, option.type) or (
                option.type is float and isinstance(option.default, int)
            ), f"default of {option.name} is not a {option.type.__name__}"
        if option.choices:
            assert option.type is str and (
                option.default is None or option.default in option.choices
            )


def test_plugins_import_neither_textual_nor_the_store(plugin_class: type[ChannelPlugin]) -> None:
    module = plugin_class.__module__
    probe = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        "bad = [m for m in ('textual', 'agentconsole.store', 'agentconsole.tui', 'sqlite3', 'aiosqlite') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"


def _serverless() -> list[str]:
    """Plugins that run with their defaults alone; the others need a configured server and
    are driven end to end by their own integration tests."""
    return sorted(
        name
        for name, source in SOURCES.items()
        if not any(option.required for option in plugins.load(source).options)
    )


@pytest.mark.parametrize("name", _serverless())
async def test_fetch_returns_normalized_messages(name: str) -> None:
    plugin_class = plugins.load(SOURCES[name])
    options = {o.name: o.default for o in plugin_class.options if not o.secret}
    context = ChannelContext(
        "contract", options, secret=lambda name: "", logger=logging.getLogger("t")
    )
    plugin = plugin_class(context)
    try:
        result = await asyncio.wait_for(plugin.fetch(None), 10)
        assert isinstance(result, FetchResult)
        assert result.cursor is None or isinstance(result.cursor, str)
        for message in result.messages:
            assert isinstance(message, InboundMessage) and message.external_id
            assert message.sent_at.tzinfo is not None, "sent_at must be timezone-aware"
            assert message.author.identities, "an author needs at least one identity"
            scheme, _, digest = (message.content_digest or "none:x").partition(":")
            assert scheme and digest, "content_digest is 'scheme:hex' or None"
        await asyncio.wait_for(plugin.wait_for_activity(0.01), 5)
    finally:
        await plugin.close()


async def test_a_plugin_without_a_follow_up_keeps_working() -> None:
    """The follow-up step is additive: a plugin written before it (no ``after_send``, a
    ``SendResult`` without ``follow_up``) behaves as before."""
    from agentconsole.plugin import SendResult

    class Old(ChannelPlugin):
        type_name = "old"

        async def fetch(self, cursor: str | None) -> FetchResult:
            return FetchResult((), cursor)

    plugin = Old(ChannelContext(name="old", options={}, secret=lambda _: ""))
    assert plugin.resend_when_unsure is True
    assert SendResult("id-1").follow_up is None
    assert await plugin.after_send(SendResult("id-1")) is None
