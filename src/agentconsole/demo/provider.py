"""Which plugin provides the demo: the channel plugin registered as ``demo``, found by
entry-point discovery like every channel (the core never imports a plugin)."""

from __future__ import annotations

from pathlib import Path

from .. import plugins
from ..errors import PluginLoadError
from ..plugin import ChannelPlugin

#: The plugin type whose channels and seeded day ``agentconsole demo`` runs.
DEMO_TYPE = "demo"


def demo_plugin(plugin_dir: Path | None = None) -> type[ChannelPlugin]:
    """The loaded ``demo`` plugin. Raises :class:`PluginLoadError` when none is installed,
    when it fails to load, or when it offers no demo (no ``demo_channels``)."""
    source = plugins.discover(plugin_dir).get(DEMO_TYPE)
    if source is None:
        raise PluginLoadError(
            f"no channel plugin {DEMO_TYPE!r} is installed, so there is no demo to run — "
            "reinstall agentconsole (`make demo` or `pip install .`)"
        )
    plugin = plugins.load(source)
    if not plugin.demo_channels:
        raise PluginLoadError(
            f"channel plugin {DEMO_TYPE!r} ({source.origin}) offers no demo channels"
        )
    return plugin
