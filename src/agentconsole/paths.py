"""Where agentconsole keeps its files, following the XDG base directory spec."""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "agentconsole"


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "agentconsole"


def default_config_file() -> Path:
    return config_dir() / "config.toml"


def default_store() -> Path:
    return data_dir() / "store.db"


def default_plugin_dir() -> Path:
    return config_dir() / "plugins"
