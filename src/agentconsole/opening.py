"""Which store to open and how: one function each, used by the CLI, the TUI and the demo, so
the acting agent and the name customers see are always the configured ones."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from . import paths, processes
from .config import Config
from .errors import StoreError
from .sanitize import one_line
from .store import Store, permissions, settings

log = logging.getLogger(__name__)


def store_path(config: Config, override: str | None = None) -> Path:
    """``--store`` (``override``), else ``$AGENTCONSOLE_STORE``, else the config's ``store``,
    else the XDG default."""
    chosen = override or os.environ.get("AGENTCONSOLE_STORE") or config.store
    return Path(chosen).expanduser() if chosen else paths.default_store()


async def open_store(config: Config, path: Path) -> Store:
    """Open (creating and migrating if needed) the store at ``path`` acting as the configured
    agent, whose replies carry the configured display name. A store other users can read is
    opened with a warning naming the fix; with ``[store] group`` it is made (or kept) a team
    store for that group first, as ``store share --group`` does. Raises ``StoreError``."""
    if config.store_group:
        share_with_group(path, config.store_group, config.describe_file())
    store = await Store.open(path, agent=config.agent, display_name=config.display_name)
    for warning in privacy_warnings(path):
        log.warning("%s", one_line(warning))
    # "Me" everywhere (assign --me, the TUI's mine view, drafts) is who actions record.
    store.agent = config.agent = await acting_agent(store, config.agent, path)
    return store


async def acting_agent(store: Store, configured: str, path: Path) -> str:
    """Who actions are recorded as: the configured agent name, except on a team store,
    where it is the Unix account of this process (from its effective uid) unless the store's
    owner allows aliases (``agentconsole store allow-aliases``). Every audit entry records
    the account anyway, and an alias is shown as ``alias (account)``."""
    account = processes.unix_account()
    if configured == account or not permissions.is_shared(path):
        return configured
    if await store.setting(settings.ALLOW_ALIASES) == "true":
        return configured
    log.warning(
        "%s",
        one_line(
            f"{path} is a team store: acting as your account {account!r}, not as "
            f"{configured!r} ([agent] name or $AGENTCONSOLE_AGENT); the store's owner can "
            "allow names with `agentconsole store allow-aliases`"
        ),
    )
    return account


def share_with_group(path: Path, group: str, where: str) -> None:
    """Apply ``[store] group``: a new store is created shared with ``group``, an existing one
    is shared unless it already is — and then the change is said, once."""
    try:
        if not path.exists():
            permissions.prepare(path, group)
        elif permissions.shared_with(path, group):
            return
        else:
            permissions.share(path, group)
    except StoreError as error:
        raise StoreError(f"[store] group = {group!r} in {where}: {error}") from error
    log.warning(
        "%s",
        one_line(
            f"{path} is now a team store for group {group} (folder 2770, files 0660), as "
            f"[store] group in {where} says"
        ),
    )


def privacy_warnings(path: Path) -> list[str]:
    """Why the store at ``path`` is not private, with the fix (empty when it is)."""
    return [str(exposure) for exposure in permissions.exposures(path)]
