"""Plugin discovery and loading: entry points, the plugin folder, broken plugins."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentconsole import plugins
from agentconsole.errors import PluginLoadError

GOOD = """
from agentconsole.plugin import ChannelPlugin, FetchResult

class Echo(ChannelPlugin):
    type_name = "echo"
    kind = "chat"

    async def fetch(self, cursor):
        return FetchResult((), cursor)

PLUGIN = Echo
"""


def test_bundled_plugins_are_found_through_entry_points() -> None:
    found = plugins.discover(None)
    assert "demo" in found and found["demo"].entry_point is not None
    assert plugins.load(found["demo"]).type_name == "demo"


def test_single_file_plugins_in_the_plugin_folder(tmp_path: Path) -> None:
    (tmp_path / "echo.py").write_text(GOOD)
    source = plugins.discover(tmp_path)["echo"]
    assert source.path == tmp_path / "echo.py"
    assert plugins.load(source).kind == "chat"


def test_a_broken_plugin_is_reported_by_name_and_the_rest_load(tmp_path: Path) -> None:
    (tmp_path / "echo.py").write_text(GOOD)
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    (tmp_path / "nothing.py").write_text("x = 1\n")
    loaded, errors = plugins.load_all(tmp_path)
    assert "echo" in loaded and "demo" in loaded
    assert "broken" in errors and "ModuleNotFoundError" in errors["broken"]
    assert "'broken'" in errors["broken"]
    assert "defines no PLUGIN" in errors["nothing"]


@pytest.mark.parametrize(
    "source, message",
    [
        (GOOD.replace('type_name = "echo"', 'type_name = "other"'), "calls itself 'other'"),
        (
            GOOD.replace(
                "    async def fetch(self, cursor):\n        return FetchResult((), cursor)\n",
                "    pass\n",
            ),
            "does not implement fetch",
        ),
        (GOOD.replace('kind = "chat"', 'kind = "fax"'), "unknown kind"),
        (GOOD.replace('kind = "chat"', 'kind = "chat"\n    api_version = 99'), "plugin API 99"),
        ("PLUGIN = object\n", "not a ChannelPlugin"),
    ],
)
def test_contract_violations_are_refused(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "echo.py").write_text(source)
    with pytest.raises(PluginLoadError, match=message):
        plugins.load(plugins.discover(tmp_path)["echo"])
