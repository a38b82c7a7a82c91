"""Which store to open and how: one function each, used by the CLI, the TUI and the demo, so
the acting agent and the name customers see are always the configured ones."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from . import paths
from .config import Config
from .sanitize import one_line
from .store import Store, permissions

log = logging.getLogger(__name__)


def store_path(config: Config, override: str | None = None) -> Path:
    """``--store`` (``override``), else ``$AGENTCONSOLE_STORE``, else the config's ``store``,
    else the XDG default."""
    chosen = override or os.environ.get("AGENTCONSOLE_STORE") or config.store
    return Path(chosen).expanduser() if chosen else paths.default_store()


async def open_store(config: Config, path: Path) -> Store:
    """Open (creating and migrating if needed) the store at ``path`` acting as the configured
    agent, whose replies carry the configured display name, with the configured SLA
    policies (due times computed again when those changed). A store other users can read is
    opened with a warning naming the fix. Raises ``StoreError``."""
    store = await Store.open(path, agent=config.agent, display_name=config.display_name)
    try:
        await store.use_sla(config.sla)
    except BaseException:
        await store.close()
        raise
    for warning in privacy_warnings(path):
        log.warning("%s", one_line(warning))
    return store


def privacy_warnings(path: Path) -> list[str]:
    """Why the store at ``path`` is not private, with the fix (empty when it is)."""
    return [str(exposure) for exposure in permissions.exposures(path)]
