"""Which store to open and how: one function each, used by the CLI, the TUI and the demo, so
the acting agent and the name customers see are always the configured ones."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from . import paths
from .config import Config
from .rules.loading import load_rules
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
    agent, whose replies carry the configured display name, running the configured rules
    (a broken rule is logged with its file and name; the others run). A store other users can read is
    opened with a warning naming the fix. Raises ``StoreError``."""
    rules = load_rules(config)  # a rules file that is not TOML stops here, before opening
    store = await Store.open(path, agent=config.agent, display_name=config.display_name)
    for warning in privacy_warnings(path):
        log.warning("%s", one_line(warning))
    for problem in rules.problems:
        log.warning("%s (the other rules run)", one_line(str(problem)))
    store.use_rules(rules if rules.rules or rules.spam.active else None)
    return store


def privacy_warnings(path: Path) -> list[str]:
    """Why the store at ``path`` is not private, with the fix (empty when it is)."""
    return [str(exposure) for exposure in permissions.exposures(path)]
