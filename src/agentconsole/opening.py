"""Which store to open and how: one function each, used by the CLI, the TUI and the demo, so
the acting agent and the name customers see are always the configured ones."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from . import paths, processes
from .config import Config
from .errors import StoreError
from .rules.loading import load_rules
from .sanitize import one_line
from .store import Store, connect, is_postgres, permissions, settings

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
    configured agent, whose replies carry the configured display name. A store file other
    users can read is opened with a warning naming the fix; with ``[store] group`` it is
    made (or kept) a team store for that group first, as ``store share --group`` does.
    The configured SLA policies compute its due times (again, when those changed), and
    the configured rules run on it (a broken rule is logged with its file and name; the
    others run). Raises ``StoreError``."""
    rules = load_rules(config)  # a rules file that is not TOML stops here, before opening
    if config.store_group:
        if is_postgres(location):
            raise StoreError(
                f"[store] group in {config.describe_file()} shares a store file; on "
                "PostgreSQL, who may use the store is its roles' business (`store init`)"
            )
        share_with_group(Path(location), config.store_group, config.describe_file())
    store = await connect(location, agent=config.agent, display_name=config.display_name)
    try:
        await store.use_sla(config.sla)
    except BaseException:
        await store.close()
        raise
    for warning in privacy_warnings(location):
        log.warning("%s", one_line(warning))
    for problem in rules.problems:
        log.warning("%s (the other rules run)", one_line(str(problem)))
    store.use_rules(rules if rules.rules or rules.spam.active else None)
    # "Me" everywhere (assign --me, the TUI's mine view, drafts) is who actions record.
    store.agent = config.agent = await acting_agent(store, config.agent, location)
    return store


async def acting_agent(store: Store, configured: str, path: Location) -> str:
    """Who actions are recorded as: the configured agent name, except on a team store,
    where it is the Unix account of this process (from its effective uid) unless the store's
    owner allows aliases (``agentconsole store allow-aliases``). Every audit entry records
    the account anyway, and an alias is shown as ``alias (account)``."""
    account = processes.unix_account()
    if configured == account or is_postgres(path) or not permissions.is_shared(Path(path)):
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


def privacy_warnings(location: Location) -> list[str]:
    """Why the store file at ``location`` is not private, with the fix (empty when it is,
    and for PostgreSQL, whose privacy is its roles' business)."""
    if is_postgres(location):
        return []
    return [str(exposure) for exposure in permissions.exposures(Path(location))]
