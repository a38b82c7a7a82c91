"""Imports point one way, checked at run time in fresh interpreters.

`make lint` checks the same rules statically (the import-linter contracts in
pyproject.toml); these tests check what actually gets loaded: the command line a script runs
never loads Textual or Rich, and a plugin loads nothing of agentconsole but the contract.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import agentconsole
from agentconsole import plugins

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
UI_PACKAGES = ("textual", "rich")


def probe(code: str, *, cwd: Path | None = None) -> list[str]:
    """Run ``code`` in a fresh interpreter; it must end by printing a JSON list of module
    names."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**os.environ, "AGENTCONSOLE_AGENT": "alice", "AGENTCONSOLE_CONFIG": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    names: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return names


LOADED = (
    "import json, sys\n"
    "print(json.dumps(sorted(name for name in sys.modules"
    " if name.split('.')[0] in ('textual', 'rich', 'aiohttp')"
    " or name.startswith(('agentconsole.', 'agentconsole_')))))\n"
)


def ui_modules(loaded: list[str]) -> list[str]:
    return [name for name in loaded if name.split(".")[0] in UI_PACKAGES]


def test_headless_modules_load_neither_textual_nor_rich() -> None:
    loaded = probe(
        "import agentconsole.cli, agentconsole.store, agentconsole.sync, agentconsole.output,"
        " agentconsole.config, agentconsole.metrics, agentconsole.humanize,"
        " agentconsole.opening, agentconsole.sanitize, agentconsole.plugin, agentconsole.demo\n"
        + LOADED
    )
    assert "agentconsole.cli" in loaded and "agentconsole.sync" in loaded
    assert ui_modules(loaded) == []
    assert not [name for name in loaded if name.startswith("agentconsole.tui")]


def test_the_command_line_runs_without_textual_or_rich(tmp_path: Path) -> None:
    store = str(tmp_path / "demo.db")
    loaded = probe(
        "import contextlib, io\n"
        "from agentconsole.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    assert main(['demo', '--seed-only', '--store', {store!r}]) == 0\n"
        f"    assert main(['--store', {store!r}, 'list', '--json']) == 0\n"
        f"    assert main(['--store', {store!r}, 'report', '--json']) == 0\n"
        "    with contextlib.suppress(SystemExit):\n"
        "        main(['--help'])\n"
        "assert out.getvalue().count('\\n') > 100, out.getvalue()[-500:]\n" + LOADED
    )
    assert "agentconsole_demo" in loaded  # the demo came through its plugin
    assert ui_modules(loaded) == []


def test_importing_the_plugin_contract_is_cheap() -> None:
    loaded = probe("import agentconsole.plugin, agentconsole.plugin.http\n" + LOADED)
    assert "agentconsole.plugin.http" in loaded
    # Nothing of the core beside the contract, and no aiohttp until a session is made.
    assert [name for name in loaded if not name.startswith("agentconsole.plugin")] == []


def bundled_plugins() -> dict[str, str]:
    """Type name -> top-level package of every plugin this project ships."""
    return {
        point.name: point.module.split(".")[0]
        for point in entry_points(group=plugins.ENTRY_POINT_GROUP)
        if point.module.startswith("agentconsole_")
    }


@pytest.mark.parametrize("type_name", sorted(bundled_plugins()))
def test_a_plugin_loads_only_the_contract(type_name: str) -> None:
    package = bundled_plugins()[type_name]
    loaded = probe(
        "from agentconsole import plugins\n"
        "import sys\n"
        "before = set(sys.modules)\n"
        f"plugins.load(plugins.discover()[{type_name!r}])\n"
        "import json\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    ours = [name for name in loaded if name.startswith(("agentconsole.", "agentconsole_"))]
    assert package in ours
    outside = [
        name
        for name in ours
        if name.split(".")[0] != package
        and name != "agentconsole.plugin"
        and not name.startswith("agentconsole.plugin.")
    ]
    assert outside == []
    assert ui_modules(loaded) == []


def test_the_import_contracts_cover_every_module_and_plugin() -> None:
    """The static contracts list modules by name: a module or plugin added later must be
    added to them, or this fails."""
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    contracts = {contract["id"]: contract for contract in config["contracts"]}
    shipped = set(bundled_plugins().values())
    assert set(config["root_packages"]) == {"agentconsole", *shipped}
    assert set(contracts["core-imports-no-plugin"]["forbidden_modules"]) == shipped
    assert set(contracts["plugins-are-independent"]["modules"]) == shipped
    modules = {f"agentconsole.{m.name}" for m in pkgutil.iter_modules(agentconsole.__path__)}
    beside_contract = modules - {"agentconsole.plugin"}
    assert (
        set(contracts["plugins-import-only-the-contract"]["forbidden_modules"]) == beside_contract
    )
    headless = set(contracts["headless-without-textual-or-rich"]["source_modules"])
    assert headless == (modules - {"agentconsole.tui"}) | shipped
    assert set(contracts["tui-is-the-top-layer"]["source_modules"]) == modules - {
        "agentconsole.tui"
    }
