"""Which store to open and how: one function each, used by the CLI, the TUI and the demo, so
the acting agent and the name customers see are always the configured ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from . import logs_later, paths, processes
from .errors import AgentConsoleError, StoreError
from .sanitize import one_line
from .store import Store, connect, is_postgres, permissions, settings

if TYPE_CHECKING:
    from .config import Config
    from .rules.definition import RuleSet
    from .store.sqlite.connection import SqliteDb


#: A store: a SQLite file, or a ``postgresql://`` URL.
Location = str | Path


def store_location(config: Config, override: str | None = None) -> Location:
    """``--store`` (``override``), else ``$AGENTCONSOLE_STORE``, else the config's ``store``,
    else the XDG default: a ``postgresql://`` URL as given, or a file path."""
    chosen = override or os.environ.get("AGENTCONSOLE_STORE") or config.store
    if chosen and is_postgres(chosen):
        return chosen
    return Path(chosen).expanduser() if chosen else paths.default_store()


def require_store(config: Config, location: Location) -> None:
    """Raise naming how a store is made when the store file at ``location`` does not exist
    (for commands that need one: every one but ``sync`` and ``deliver``)."""
    if not is_postgres(location) and not Path(location).exists():
        raise AgentConsoleError(
            f"no store at {location}: it is created by `agentconsole sync` (or the console, "
            f"`agentconsole`) with channels configured in {config.describe_file()}; "
            "`agentconsole demo --seed-only --store PATH` writes a demo store"
        )


async def open_store(config: Config, location: Location) -> Store:
    """Open (creating and migrating if needed) the store at ``location`` acting as the
    configured agent, whose replies carry the configured display name. A store file other
    users can read is opened with a warning naming the fix; with ``[store] group`` it is
    made (or kept) a team store for that group first, as ``store share --group`` does.
    The configured SLA policies compute its due times (again, when those changed), and
    the configured rules run on it (a broken rule is logged with its file and name; the
    others run). Raises ``StoreError``."""
    from .rules.loading import load_rules

    rules = load_rules(config)  # a rules file that is not TOML stops here, before opening
    _apply_group(config, location)
    store = await connect(location, agent=config.agent, display_name=config.display_name)
    try:
        await store.use_sla(config.sla)
    except BaseException:
        await store.close()
        raise
    _warn_opened(location, rules)
    store.use_rules(rules if rules.rules or rules.spam.active else None)
    # "Me" everywhere (assign --me, the TUI's mine view, drafts) is who actions record.
    store.agent = config.agent = await acting_agent(store, config.agent, location)
    return store


def open_for_reading(config: Config, location: Location, *, wake: bool) -> SqliteDb | None:
    """The store at ``location`` as :func:`open_store` would give it to a command that only
    reads, on a plain read-only connection (no event loop, no write path): the same checks
    and warnings first, and ``config.agent`` set to who the reads see as "me". None when
    it must be opened with :func:`open_store` instead: a PostgreSQL store, or a store file
    that needs a write first (see :func:`agentconsole.store.readonly.connect_for_reading`;
    ``wake``: the command wakes due snoozed conversations, as ``list`` does)."""
    import time

    if is_postgres(location):
        return None
    # Reading needs no rules; only a configured one can stop the command or be warned about.
    rules = None
    if config.rules_data or config.rule_files:
        from .rules.loading import load_rules

        rules = load_rules(config)
    _apply_group(config, location)
    from .store.readonly import connect_for_reading, read

    path = Path(location)
    conn = connect_for_reading(path, config.sla, wake=wake, now=time.time())
    if conn is None:
        return None
    try:
        _warn_opened(location, rules)
        account = _team_account(config.agent, location)
        if account is not None:
            allowed = read(conn, path, settings.get, settings.ALLOW_ALIASES) == "true"
            config.agent = config.agent if allowed else _as_account(location, config.agent)
    except BaseException:
        conn.close()
        raise
    return conn


def _apply_group(config: Config, location: Location) -> None:
    if config.store_group:
        if is_postgres(location):
            raise StoreError(
                f"[store] group in {config.describe_file()} shares a store file; on "
                "PostgreSQL, who may use the store is its roles' business (`store init`)"
            )
        share_with_group(Path(location), config.store_group, config.describe_file())


def _warn_opened(location: Location, rules: RuleSet | None) -> None:
    for warning in privacy_warnings(location):
        logs_later.warning(__name__, one_line(warning))
    for problem in rules.problems if rules else ():
        logs_later.warning(__name__, one_line(str(problem)) + " (the other rules run)")


async def acting_agent(store: Store, configured: str, path: Location) -> str:
    """Who actions are recorded as: the configured agent name, except on a team store,
    where it is the Unix account of this process (from its effective uid) unless the store's
    owner allows aliases (``agentconsole store allow-aliases``). Every audit entry records
    the account anyway, and an alias is shown as ``alias (account)``."""
    if _team_account(configured, path) is None:
        return configured
    if await store.setting(settings.ALLOW_ALIASES) == "true":
        return configured
    return _as_account(path, configured)


def _team_account(configured: str, path: Location) -> str | None:
    """This process's Unix account when ``path`` is a team store and ``configured`` is
    another name (which then stands only if the owner allows aliases); else None."""
    account = processes.unix_account()
    if configured == account or is_postgres(path) or not permissions.is_shared(Path(path)):
        return None
    return account


def _as_account(path: Location, configured: str) -> str:
    account = processes.unix_account()
    logs_later.warning(
        __name__,
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
    logs_later.warning(
        __name__,
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
