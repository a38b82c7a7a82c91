"""Which store to open and how: one function each, used by the CLI, the TUI and the demo, so
the acting agent and the name customers see are always the configured ones."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from . import paths
from .config import Config
from .sanitize import one_line
from .store import Store, connect, is_postgres, permissions

log = logging.getLogger(__name__)


#: A store: a SQLite file, or a ``postgresql://`` URL.
Location = str | Path


def store_location(config: Config, override: str | None = None) -> Location:
    """``--store`` (``override``), else ``$AGENTCONSOLE_STORE``, else the config's ``store``,
    else the XDG default: a ``postgresql://`` URL as given, or a file path."""
    chosen = override or os.environ.get("AGENTCONSOLE_STORE") or config.store
    if chosen and is_postgres(chosen):
        return chosen
    return Path(chosen).expanduser() if chosen else paths.default_store()


async def open_store(config: Config, location: Location) -> Store:
    """Open (creating and migrating if needed) the store at ``location`` acting as the
    configured agent, whose replies carry the configured display name, with the configured
    SLA policies (due times computed again when those changed). A store file other users
    can read is opened with a warning naming the fix. Raises ``StoreError``."""
    store = await connect(location, agent=config.agent, display_name=config.display_name)
    try:
        await store.use_sla(config.sla)
    except BaseException:
        await store.close()
        raise
    for warning in privacy_warnings(location):
        log.warning("%s", one_line(warning))
    return store


def privacy_warnings(location: Location) -> list[str]:
    """Why the store file at ``location`` is not private, with the fix (empty when it is,
    and for PostgreSQL, whose privacy is its roles' business)."""
    if is_postgres(location):
        return []
    return [str(exposure) for exposure in permissions.exposures(Path(location))]
