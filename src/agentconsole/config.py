"""Loading and validating the TOML config.

Where it comes from: ``--config`` > ``$AGENTCONSOLE_CONFIG`` > ``$XDG_CONFIG_HOME/agentconsole/
config.toml``; no file at the default place means an empty config (the demo still runs).
Validation is strict: an unknown key is an error naming the file, the key and the closest
valid key, because a misspelt ``pasword_command`` silently ignored is an hour lost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import keymap, paths
from .errors import ConfigError, UsageError
from .models import field, mutable_record

if TYPE_CHECKING:
    from .plugin import ChannelPlugin, Option
    from .sla import SlaSettings
    from .views import ViewDefinition

CHANNEL_CORE_KEYS = {"type": str, "enabled": bool}
TOP_LEVEL_KEYS = (
    "store",
    "plugin_dir",
    "agent",
    "keys",
    "channels",
    "sync",
    "sla",
    "business_hours",
    "views",
    "replies",
    "rules",
    "teams",
    "automation",
    "spam",
    "compose",
    "outbox",
)
VIEW_KEYS = {"query": str, "order": str, "key": str, "label": str}
AGENT_KEYS = {"name": str, "display_name": str}
SYNC_KEYS = {"lease_seconds": (int, float), "retry_max_seconds": (int, float)}
SLA_KEYS = {"first_response": (str, int, float)}
REPLIES_KEYS = {"dirs": list}
STORE_KEYS = {"path": str, "group": str}
SPAM_KEYS = {"block": list, "allow": list, "trust_spam_headers": bool}
AUTOMATION_KEYS = {"files": list, "reply_as": str, "hook_timeout": (str, int, float)}
#: How long a rule's hook command may run before it is stopped (seconds).
DEFAULT_HOOK_TIMEOUT = 10.0
COMPOSE_KEYS = {"after_send": str, "assign_on_reply": bool}
OUTBOX_KEYS = {"undo_seconds": (int, float)}
#: What the composer's send key does after sending (``[compose] after_send``): stay on the
#: conversation, open the next one of the view, or close / set pending and open the next.
AFTER_SEND = ("stay", "next", "close", "pending")
SECRET_COMMAND_TIMEOUT = 30


@mutable_record
class ChannelConfig:
    """One ``[channels.NAME]`` table, before its plugin has checked its options."""

    name: str
    type: str
    enabled: bool
    options: dict[str, Any]
    file: str


@mutable_record
class Config:
    file: str
    agent: str
    display_name: str
    #: A store file, or a ``postgresql://`` URL (kept as given).
    store: Path | str | None
    plugin_dir: Path
    keys: dict[str, str]
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    lease_seconds: float = 30.0
    retry_max_seconds: float = 900.0
    #: [sla] first_response, in seconds: a later (or missing) first answer is a breach.
    first_response_target: float | None = None
    #: The ``[[sla]]`` policies and ``[business_hours]`` (None: no policies).
    sla: SlaSettings | None = None
    #: False when no file was found at the default place (an empty config was used).
    file_exists: bool = True
    #: The agent's own views (``[views.NAME]``), in the file's order.
    views: dict[str, ViewDefinition] = field(default_factory=dict)
    #: ``[replies] dirs``: the team's shared folders of saved replies, in the file's order.
    reply_dirs: tuple[Path, ...] = ()
    #: ``[store] group``: the Unix group the store is shared with (a team store), or None.
    store_group: str | None = None
    #: ``[[rules]]`` as read (checked by :func:`agentconsole.rules.loading.load_rules`).
    rules_data: list[Any] = field(default_factory=list)
    #: ``[automation] files``: shared rules files, in order, after the config's own rules.
    rule_files: tuple[Path, ...] = ()
    #: ``[teams]``: team name → its agents, in order (round_robin / least_busy).
    teams: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``[automation] reply_as``: the name customers see on a rule's replies.
    reply_as: str | None = None
    #: ``[automation] hook_timeout`` in seconds.
    hook_timeout: float = DEFAULT_HOOK_TIMEOUT
    #: ``[spam] block`` / ``allow``: addresses and ``@domains``, lower case.
    spam_block: tuple[str, ...] = ()
    spam_allow: tuple[str, ...] = ()
    #: ``[spam] trust_spam_headers``: mail the server flagged lands in Spam.
    trust_spam_headers: bool = False
    #: ``[compose] after_send``: one of :data:`AFTER_SEND`.
    after_send: str = "next"
    #: ``[compose] assign_on_reply``: replying to an unassigned conversation assigns it to you.
    assign_on_reply: bool = True
    #: ``[outbox] undo_seconds``: how long a reply from the console waits, taken back on undo.
    undo_seconds: float = 10.0

    @property
    def reply_folders(self) -> tuple[Path, ...]:
        """Where saved replies are read from, first match wins: the agent's own folder
        (``~/.config/agentconsole/replies``), then the shared ones."""
        return (paths.config_dir() / "replies", *self.reply_dirs)

    def describe_file(self) -> str:
        """The config file for a message: its path, and when it does not exist, how to make
        one (``agentconsole config example > PATH``)."""
        if self.file_exists:
            return self.file
        folder = Path(self.file).parent
        make_folder = "" if folder.is_dir() else f"mkdir -p {folder} && "
        return (
            f"{self.file}, which does not exist (create it with "
            f"`{make_folder}agentconsole config example > {self.file}` and edit it)"
        )


def example_text() -> str:
    """The example configuration shipped with the package (every key documented, every
    channel switched off): what ``agentconsole config example`` prints."""
    from importlib import resources

    return (resources.files("agentconsole") / "config.example.toml").read_text(encoding="utf-8")


def unknown_type(channel: ChannelConfig, installed: Iterable[str]) -> ConfigError:
    """The error for a ``type`` no installed plugin provides, naming the file and the
    closest installed type (``type = "emial"``: did you mean 'email'?)."""
    installed = sorted(installed)
    return ConfigError(
        f"{channel.file}: [channels.{channel.name}] type = {channel.type!r}: no installed "
        f"plugin provides it{_closest(channel.type, installed)} (installed: "
        f"{', '.join(installed) or 'none'}; see `agentconsole plugins`)"
    )


def _closest(key: str, valid: Iterable[str]) -> str:
    import difflib  # only an error message needs it

    matches = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def _unknown(file: str, where: str, key: str, valid: Iterable[str]) -> ConfigError:
    valid = sorted(valid)
    return ConfigError(
        f"{file}: unknown key {key!r} in {where}{_closest(key, valid)} "
        f"(valid keys: {', '.join(valid)})"
    )


def _type_name(expected: Any) -> str:
    if isinstance(expected, tuple):
        return " or ".join(t.__name__ for t in expected)
    names: dict[Any, str] = {
        str: "a string",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list of strings",
    }
    return names.get(expected) or str(expected.__name__)


def _check_type(file: str, where: str, key: str, value: Any, expected: Any) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    ok = isinstance(value, expected) and not (
        isinstance(value, bool) and expected in (int, float, (int, float))
    )
    if expected is list and ok:
        ok = all(isinstance(item, str) for item in value)
    if not ok:
        raise ConfigError(f"{file}: {where}.{key} must be {_type_name(expected)}, not {value!r}")
    return value


def config_path(explicit: str | None) -> tuple[Path, bool]:
    """(path, whether it was asked for explicitly)."""
    if explicit:
        return Path(explicit).expanduser(), True
    env = os.environ.get("AGENTCONSOLE_CONFIG")
    if env:
        return Path(env).expanduser(), True
    return paths.default_config_file(), False


def load(explicit: str | None = None) -> Config:
    path, required = config_path(explicit)
    if not path.exists():
        if required:
            raise ConfigError(
                f"config file {path} does not exist "
                f"(`agentconsole config example > {path}` writes a commented one)"
            )
        config = parse({}, str(path))
        config.file_exists = False
        return config
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error}") from error
    return parse(_toml(text, path), str(path))


def _toml(text: str, path: Path) -> dict[str, Any]:
    """The TOML document ``text``; a blank one (nothing but TOML's whitespace and line
    breaks, such as ``/dev/null``) is the empty table without loading the parser, a few
    milliseconds of a script's start."""
    if not text.replace("\r\n", "\n").strip(" \t\n"):
        return {}
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error


def parse(data: dict[str, Any], file: str) -> Config:
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise _unknown(file, "the top level", key, TOP_LEVEL_KEYS)
    agent_table = _checked_table(data, "agent", file, AGENT_KEYS)
    keys_table = _checked_table(data, "keys", file, dict.fromkeys(keymap.BY_ID, str))
    sync_table = _checked_table(data, "sync", file, SYNC_KEYS)
    first_response_target = None
    sla_settings = None
    if isinstance(data.get("sla"), list):
        from .sla import settings_from_config  # business hours and zones: only when set

        sla_settings = settings_from_config(
            data["sla"],
            _table(data, "business_hours", file) if "business_hours" in data else None,
            file,
        )
    else:
        for key, value in _checked_table(data, "sla", file, SLA_KEYS).items():
            try:
                first_response_target = _duration(value)
            except UsageError as error:
                raise ConfigError(f"{file}: sla.{key}: {error}") from None
        if "business_hours" in data:
            from .sla import settings_from_config

            # Checked even unused, so a typo shows before the first policy is written.
            settings_from_config([], _table(data, "business_hours", file), file)
    replies_table = _checked_table(data, "replies", file, REPLIES_KEYS)
    automation = _checked_table(data, "automation", file, AUTOMATION_KEYS)
    spam = _checked_table(data, "spam", file, SPAM_KEYS)
    hook_timeout = DEFAULT_HOOK_TIMEOUT
    if "hook_timeout" in automation:
        try:
            hook_timeout = _duration(automation["hook_timeout"])
        except UsageError as error:
            raise ConfigError(f"{file}: automation.hook_timeout: {error}") from None
    compose_table = _checked_table(data, "compose", file, COMPOSE_KEYS)
    after_send = compose_table.get("after_send", "next")
    if after_send not in AFTER_SEND:
        raise ConfigError(
            f"{file}: [compose] after_send = {after_send!r} is not one of "
            f"{', '.join(AFTER_SEND)}{_closest(after_send, AFTER_SEND)}"
        )
    undo_seconds = float(_checked_table(data, "outbox", file, OUTBOX_KEYS).get("undo_seconds", 10))
    if not 0 <= undo_seconds <= 300:
        raise ConfigError(
            f"{file}: [outbox] undo_seconds = {undo_seconds:g}: give 0 (send at once) to 300"
        )
    agent = agent_table.get("name") or os.environ.get("AGENTCONSOLE_AGENT") or unix_account()
    store, store_group = _store(data.get("store"), file)
    plugin_dir = data.get("plugin_dir")
    plugin_dir = (
        Path(_check_type(file, "top level", "plugin_dir", plugin_dir, str)).expanduser()
        if plugin_dir
        else paths.default_plugin_dir()
    )
    config = Config(
        file=file,
        agent=agent,
        display_name=agent_table.get("display_name", agent),
        store=store,
        store_group=store_group,
        plugin_dir=plugin_dir,
        keys=keymap.resolve(keys_table),
        lease_seconds=float(sync_table.get("lease_seconds", 30.0)),
        retry_max_seconds=float(sync_table.get("retry_max_seconds", 900.0)),
        first_response_target=first_response_target,
        sla=sla_settings,
        reply_dirs=tuple(_folder(file, d) for d in replies_table.get("dirs", [])),
        rules_data=_rules(data.get("rules", []), file),
        rule_files=tuple(_folder(file, f) for f in automation.get("files", [])),
        teams=_teams(_table(data, "teams", file), file),
        reply_as=automation.get("reply_as"),
        hook_timeout=hook_timeout,
        spam_block=_senders(spam.get("block", []), file, "block"),
        spam_allow=_senders(spam.get("allow", []), file, "allow"),
        trust_spam_headers=spam.get("trust_spam_headers", False),
        after_send=after_send,
        assign_on_reply=compose_table.get("assign_on_reply", True),
        undo_seconds=undo_seconds,
    )
    for name, table in _table(data, "views", file).items():
        config.views[name] = _view(file, name, table)
    for name, table in _table(data, "channels", file).items():
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: channels.{name} must be a table [channels.{name}]")
        if "type" not in table:
            raise ConfigError(
                f"{file}: [channels.{name}] has no 'type' key; add type = \"email\" (or the "
                "name of another installed channel plugin: see `agentconsole plugins`)"
            )
        channel_type = _check_type(file, f"channels.{name}", "type", table["type"], str)
        enabled = _check_type(file, f"channels.{name}", "enabled", table.get("enabled", True), bool)
        options = {k: v for k, v in table.items() if k not in CHANNEL_CORE_KEYS}
        config.channels[name] = ChannelConfig(name, channel_type, enabled, options, file)
    return config


def _duration(value: object) -> float:
    """A duration in the config (``"4h"``, ``90``), in seconds; :class:`UsageError` saying
    what it is not."""
    from .timeparse import parse_duration  # only a config that gives one needs the parser

    return parse_duration(str(value))


def _folder(file: str, value: str) -> Path:
    """A folder named in the config: ``~`` expanded, relative to the config file's folder."""
    folder = Path(value).expanduser()
    return folder if folder.is_absolute() else Path(file).parent / folder


def _rules(value: Any, file: str) -> list[Any]:
    """``[[rules]]``: a list of tables, each checked later rule by rule (a broken rule is
    reported and the others still run)."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(
            f"{file}: rules must be [[rules]] tables (one per rule); shared rules files are "
            "listed in [automation] files"
        )
    return value


def _senders(values: list[str], file: str, key: str) -> tuple[str, ...]:
    """``[spam] block`` / ``allow``: each an address or an ``@domain``."""
    senders = []
    for value in values:
        sender = value.strip().lower()
        if "@" not in sender or any(char.isspace() for char in sender):
            raise ConfigError(
                f"{file}: spam.{key}: {value!r} is neither an address (ann@example.com) nor a "
                "domain (@example.com)"
            )
        senders.append(sender)
    return tuple(senders)


def _teams(table: dict[str, Any], file: str) -> dict[str, tuple[str, ...]]:
    """``[teams]``: ``billing = ["alice", "bob"]``."""
    teams: dict[str, tuple[str, ...]] = {}
    for name, members in table.items():
        _check_type(file, "teams", name, members, list)
        if not members:
            raise ConfigError(f'{file}: teams.{name} is empty; list its agents: ["alice", "bob"]')
        teams[name] = tuple(dict.fromkeys(m.strip() for m in members if m.strip()))
    return teams


def unix_account() -> str:
    """The account this process runs as, from its effective uid (see
    :func:`agentconsole.processes.unix_account`)."""
    from .processes import unix_account as account

    return account()


def _view(file: str, name: str, table: Any) -> ViewDefinition:
    """One ``[views.NAME]`` table: its query must parse, its order be known."""
    where = f"views.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f'{file}: {where} must be a table: [{where}] with query = "…"')
    for key, value in table.items():
        if key not in VIEW_KEYS:
            raise _unknown(file, f"[{where}]", key, VIEW_KEYS)
        _check_type(file, where, key, value, VIEW_KEYS[key])
    if "query" not in table:
        raise ConfigError(f'{file}: [{where}] has no query; add query = "tag:billing -is:mine"')
    # Only a config with views needs the query language and the views (most commands that
    # read the config use neither).
    from .query import QueryError, format_error
    from .query import parse as parse_query
    from .views import ORDERS, ViewDefinition

    try:
        parse_query(table["query"])
    except QueryError as error:
        raise ConfigError(f"{file}: {where}.query: {format_error(error)}") from None
    order = table.get("order", "urgent")
    if order not in ORDERS:
        raise ConfigError(
            f"{file}: {where}.order must be one of {', '.join(ORDERS)}, not {order!r}"
        )
    key = table.get("key")
    if key is not None and len(key) != 1:
        raise ConfigError(f'{file}: {where}.key is one key, such as "b", not {key!r}')
    return ViewDefinition(
        f"view:{name}",
        table.get("label", name),
        table["query"],
        order,
        shortcut=key,
        source="personal",
    )


def _store(value: Any, file: str) -> tuple[Path | str | None, str | None]:
    """``store = "PATH"`` (or a ``postgresql://`` URL, kept as given), or a ``[store]``
    table with ``path`` and ``group`` (the Unix group a team store file is shared with)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if value.startswith(("postgresql://", "postgres://")):
            return value, None
        return Path(value).expanduser(), None
    if not isinstance(value, dict):
        raise ConfigError(
            f'{file}: store must be a path (store = "~/support.db") or a table [store] with '
            "path and group"
        )
    table = _checked_table({"store": value}, "store", file, STORE_KEYS)
    group = table.get("group", "").strip() or None
    path = Path(table["path"]).expanduser() if table.get("path") else None
    return path, group


def _checked_table(
    data: dict[str, Any], name: str, file: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """Table ``[name]`` with every key known to ``spec`` (key → expected type)."""
    table = _table(data, name, file)
    for key, value in table.items():
        if key not in spec:
            raise _unknown(file, f"[{name}]", key, spec)
        _check_type(file, name, key, value, spec[key])
    return table


def _table(data: dict[str, Any], key: str, file: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{file}: {key} must be a table [{key}]")
    return value


def _accepted_keys(plugin: type[ChannelPlugin]) -> dict[str, Option]:
    from .plugin import SECRET_SOURCES

    keys: dict[str, Option] = {}
    for option in plugin.options:
        if option.secret:
            for source in SECRET_SOURCES:
                keys[f"{option.name}_{source}"] = option
        else:
            keys[option.name] = option
    return keys


def check_channel_options(channel: ChannelConfig, plugin: type[ChannelPlugin]) -> dict[str, Any]:
    """The channel's options checked against what its plugin declares, defaults filled in.

    Secret options are not resolved here (see :func:`secret_resolver`); their ``*_command``,
    ``*_env`` or ``*_keyring`` key is kept as given.
    """
    from .plugin import SECRET_SOURCES

    where = f"[channels.{channel.name}]"
    accepted = _accepted_keys(plugin)
    valid = set(accepted) | set(CHANNEL_CORE_KEYS)
    checked: dict[str, Any] = {}
    for key, value in channel.options.items():
        option = accepted.get(key)
        if option is None:
            secret = next((o for o in plugin.options if o.secret and o.name == key), None)
            if secret is not None:
                raise ConfigError(
                    f"{channel.file}: {where} {key} must not be written in the config file; "
                    f"use {key}_command (a command that prints it), {key}_env (an environment "
                    f"variable) or {key}_keyring (a keyring service)"
                )
            raise _unknown(channel.file, where, key, valid)
        if option.secret:
            checked[key] = _check_type(channel.file, f"channels.{channel.name}", key, value, str)
            continue
        value = _check_type(channel.file, f"channels.{channel.name}", key, value, option.type)
        if option.choices and value not in option.choices:
            raise ConfigError(
                f"{channel.file}: {where} {key} = {value!r} is not one of "
                f"{', '.join(repr(c) for c in option.choices)}"
            )
        checked[key] = value
    for option in plugin.options:
        given = (
            any(f"{option.name}_{source}" in checked for source in SECRET_SOURCES)
            if option.secret
            else option.name in checked
        )
        if given:
            continue
        if option.required:
            hint = f"{option.name}_command" if option.secret else option.name
            raise ConfigError(f"{channel.file}: {where} needs {hint} ({option.help})")
        if not option.secret:
            checked[option.name] = option.default
    return checked


def secret_resolver(channel_name: str, options: dict[str, Any]) -> Callable[[str], str]:
    """A function resolving a secret option by name each time it is called (never cached,
    never logged)."""
    import subprocess

    from .plugin import PermanentError

    def resolve(name: str) -> str:
        where = f"[channels.{channel_name}]"
        if f"{name}_command" in options:
            command = options[f"{name}_command"]
            try:
                result = subprocess.run(
                    command,
                    shell=True,
                    capture_output=True,
                    text=True,
                    timeout=SECRET_COMMAND_TIMEOUT,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                raise PermanentError(
                    f"{name}_command in {where} did not finish within {SECRET_COMMAND_TIMEOUT}s"
                ) from None
            if result.returncode != 0:
                raise PermanentError(
                    f"{name}_command in {where} failed (exit {result.returncode}): "
                    f"{result.stderr.strip()[:200]}"
                )
            value = result.stdout.rstrip("\r\n")
            if not value:
                raise PermanentError(f"{name}_command in {where} printed nothing")
            return value
        if f"{name}_env" in options:
            variable = options[f"{name}_env"]
            from_env = os.environ.get(variable)
            if not from_env:
                raise PermanentError(
                    f"environment variable {variable} (from {name}_env in {where}) is not set"
                )
            return from_env
        if f"{name}_keyring" in options:
            service, _, user = options[f"{name}_keyring"].partition("/")
            try:
                import keyring  # type: ignore[import-not-found]  # optional extra [keyring]
            except ImportError:
                raise PermanentError(
                    f"{name}_keyring in {where} needs the keyring package: "
                    "pip install 'agentconsole[keyring]'"
                ) from None
            value = keyring.get_password(service, user or channel_name)
            if not value:
                raise PermanentError(
                    f"no secret in the keyring for service {service!r}, user "
                    f"{user or channel_name!r} ({name}_keyring in {where})"
                )
            return str(value)
        raise PermanentError(f"{where} has no {name}_command, {name}_env or {name}_keyring")

    return resolve
