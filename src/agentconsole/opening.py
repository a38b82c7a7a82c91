"""Which store to open and how: one function each, used by the CLI, the TUI and the demo, so
the acting agent and the name customers see are always the configured ones."""

from __future__ import annotations

import os
from pathlib import Path

from . import paths
from .config import Config
from .store import Store


def store_path(config: Config, override: str | None = None) -> Path:
    """``--store`` (``override``), else ``$AGENTCONSOLE_STORE``, else the config's ``store``,
    else the XDG default."""
    chosen = override or os.environ.get("AGENTCONSOLE_STORE") or config.store
    return Path(chosen).expanduser() if chosen else paths.default_store()


async def open_store(config: Config, path: Path) -> Store:
    """Open (creating and migrating if needed) the store at ``path`` acting as the configured
    agent, whose replies carry the configured display name. Raises ``StoreError``."""
    return await Store.open(path, agent=config.agent, display_name=config.display_name)
