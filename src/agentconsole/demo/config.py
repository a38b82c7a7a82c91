"""The demo's configuration: the demo plugin's channels, nothing to set up."""

from __future__ import annotations

from typing import Any

from ..config import Config, parse
from ..plugin import ChannelPlugin
from .provider import demo_plugin


def demo_config(agent: str | None = None, plugin: type[ChannelPlugin] | None = None) -> Config:
    """A config running the ``demo_channels`` of ``plugin`` (default: the installed demo
    plugin, see :func:`~agentconsole.demo.provider.demo_plugin`), for the store
    :func:`agentconsole.demo.seed_store` fills, with a 4 h first-response target so the
    report shows SLA breaches. ``agent`` names the current agent (default: as for any
    config, ``$AGENTCONSOLE_AGENT`` or the Unix user). ``store`` is left unset: the caller
    chooses the throwaway file."""
    plugin = plugin or demo_plugin()
    data: dict[str, Any] = {
        "channels": {
            setup.name: {**setup.options, "type": plugin.type_name}
            for setup in plugin.demo_channels
        },
        "sla": {"first_response": "4h"},
    }
    if agent:
        data["agent"] = {"name": agent}
    return parse(data, "<demo>")
