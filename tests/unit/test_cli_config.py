"""The first hour with a config: the shipped example, a missing file, a mistyped type."""

from __future__ import annotations

import tomllib
from pathlib import Path

from agentconsole import config as config_module
from agentconsole import plugins
from tests.unit.test_cli import run


def test_config_example_prints_the_shipped_example_with_every_channel_off(
    tmp_path: Path,
) -> None:
    printed = run(tmp_path / "s.db", "config", "example")
    assert printed.returncode == 0, printed.stderr
    repository_copy = Path(__file__).resolve().parents[2] / "config.example.toml"
    assert printed.stdout == repository_copy.read_text(encoding="utf-8")
    copy = tmp_path / "config.toml"
    copy.write_text(printed.stdout)
    config = config_module.load(str(copy))
    assert {c.type for c in config.channels.values()} >= {"email", "irc", "matrix", "feed"}
    assert [name for name, c in config.channels.items() if c.enabled] == []
    # Every table says so itself, so enabling one channel is a one-line edit.
    for name, table in tomllib.loads(printed.stdout)["channels"].items():
        assert table.get("enabled") is False, f"[channels.{name}] must say enabled = false"
    installed = plugins.discover(None)
    for channel in config.channels.values():
        config_module.check_channel_options(channel, plugins.load(installed[channel.type]))
    # A copy starts quietly: nothing to run, and the message says why.
    synced = run(tmp_path / "s.db", "sync", "--once", config=copy)
    assert synced.returncode == 2 and "no channel is enabled" in synced.stderr
    assert run(tmp_path / "s.db", "demo", "--seed-only").returncode == 0
    listed = run(tmp_path / "s.db", "channels", config=copy).stdout.splitlines()
    support = next(line for line in listed if line.startswith("support "))
    assert "disabled (enabled = false)" in support


def test_config_example_works_even_when_the_config_is_broken(tmp_path: Path) -> None:
    broken = tmp_path / "config.toml"
    broken.write_text("[agent\n")
    printed = run(tmp_path / "s.db", "config", "example", config=broken)
    assert printed.returncode == 0 and "[channels." in printed.stdout


def test_a_missing_default_config_says_it_does_not_exist_and_how_to_create_it(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "AGENTCONSOLE_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    result = subprocess.run(
        [sys.executable, "-m", "agentconsole.cli", "--store", str(tmp_path / "s.db"), "sync"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    expected = tmp_path / "xdg" / "agentconsole" / "config.toml"
    assert result.returncode == 2
    assert f"{expected}, which does not exist" in result.stderr
    assert f"agentconsole config example > {expected}" in result.stderr
    missing = run(tmp_path / "s.db", "list", config=tmp_path / "nope.toml")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "agentconsole config example >" in missing.stderr


def test_a_mistyped_channel_type_suggests_the_installed_one_and_names_the_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[channels.support]\ntype = "emial"\nfrom_address = "a@b.example"\n')
    synced = run(tmp_path / "s.db", "sync", "--once", "--json", config=config)
    assert synced.returncode == 1
    assert "did you mean 'email'?" in synced.stdout and str(config) in synced.stdout
    listed = run(tmp_path / "s.db", "channels", config=config)
    assert listed.returncode == 0, listed.stderr
    assert str(config) in listed.stdout and "did you mean 'email'?" in listed.stdout
