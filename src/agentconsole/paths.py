"""Where agentconsole keeps its files, following the XDG base directory spec."""

from __future__ import annotations

import os
import re
from pathlib import Path

_USER_DIR_LINE = re.compile(r'^\s*XDG_(?P<name>[A-Z]+)_DIR\s*=\s*"(?P<value>[^"]*)"\s*$')


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


def user_dir(name: str) -> Path | None:
    """An XDG user folder (``DOWNLOAD``, ``DOCUMENTS``…) as ``xdg-user-dir NAME`` finds it:
    ``$XDG_<NAME>_DIR``, else the line in ``$XDG_CONFIG_HOME/user-dirs.dirs``; None when
    neither names one. Whether the folder exists is the caller's question."""
    configured = os.environ.get(f"XDG_{name}_DIR")
    if configured:
        return Path(configured).expanduser()
    try:
        text = (_xdg("XDG_CONFIG_HOME", ".config") / "user-dirs.dirs").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        match = _USER_DIR_LINE.match(line)
        if match and match["name"] == name:
            value = match["value"]
            if value.startswith("$HOME"):
                return Path.home() / value.removeprefix("$HOME").lstrip("/")
            return Path(value) if os.path.isabs(value) else None
    return None
