"""Reading rules: ``[[rules]]`` in the config, then in each shared rules file a team keeps
(``[automation] files = […]``), checked one by one.

A rule that cannot run — an unknown key, a query that does not parse, a saved reply, agent
or team nobody knows — is reported with its file and name (:class:`RuleProblem`) and left
out; the other rules still run. What is wrong with the files themselves (not TOML, not
readable, ``rules`` not a list of tables) is a :class:`ConfigError`, as in the config.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from ..config import Config
from ..errors import ConfigError, NotFoundError, UsageError
from ..models import priority_rank
from ..query import QueryError, format_error, parse
from ..replies import ReplyLibrary, load_library
from ..timeparse import parse_when
from .definition import EVENTS, Actions, Assignment, Event, Rule, RuleProblem, RuleSet
from .spam import SpamPolicy

RULE_KEYS = {"name": str, "on": str, "if": str, "then": dict, "stop": bool, "enabled": bool}
THEN_KEYS = {
    "tags": list,
    "priority": str,
    "status": str,
    "snooze": str,
    "assign": str,
    "reply": str,
    "note": str,
    "spam": bool,
    "hook": str,
}
#: What ``status`` may set (a snooze is ``snooze = "in 2d"``); "close" reads as closed.
RULE_STATUSES = {"open": "open", "pending": "pending", "closed": "closed", "close": "closed"}
_TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    dict: 'a table, e.g. { tags = ["+billing"] }',
    list: "a list of strings",
}


class _Broken(Exception):
    """One rule's problem while it is read."""


def load_rules(config: Config, library: ReplyLibrary | None = None) -> RuleSet:
    """Every rule of ``config`` and its shared rules files, in order, the broken ones as
    problems. ``library`` is the saved replies (default: read from the config's folders).
    Raises :class:`ConfigError` for a rules file that cannot be read or is not TOML."""
    library = library if library is not None else load_library(config.reply_folders)
    sources: list[tuple[str, list[Any]]] = [(config.file, config.rules_data)]
    for path in config.rule_files:
        sources.append((str(path), _read_file(path)))
    rules: list[Rule] = []
    problems: list[RuleProblem] = []
    seen: set[str] = set()
    for file, tables in sources:
        for number, table in enumerate(tables, 1):
            name = _name_of(table, number)
            try:
                if name in seen:
                    raise _Broken("another rule has this name; give each rule its own")
                rules.append(_rule(file, name, table, config, library))
            except _Broken as problem:
                problems.append(RuleProblem(file, name, str(problem)))
            seen.add(name)
    return RuleSet(
        tuple(rules),
        tuple(problems),
        reply_as=config.reply_as or config.display_name,
        spam=SpamPolicy(config.spam_block, config.spam_allow, config.trust_spam_headers),
    )


def _read_file(path: Path) -> list[Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"rules file {path} does not exist (listed in [automation] files)"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot read rules file {path}: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    for key in data:
        if key != "rules":
            raise ConfigError(
                f"{path}: unknown key {key!r}{_closest(key, ['rules'])} (a rules file holds "
                "[[rules]] tables only)"
            )
    return rules_list(data.get("rules", []), str(path))


def rules_list(value: Any, file: str) -> list[Any]:
    """``rules`` as read from TOML: a list of tables (``[[rules]]``). Raises
    :class:`ConfigError`."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(
            f"{file}: rules must be [[rules]] tables (one per rule), not {type(value).__name__}"
        )
    return value


def _name_of(table: Mapping[str, Any], number: int) -> str:
    name = table.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else f"#{number}"


def _closest(key: str, valid: Iterable[str]) -> str:
    matches = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def _checked(table: Mapping[str, Any], spec: Mapping[str, type], where: str) -> None:
    for key, value in table.items():
        if key not in spec:
            raise _Broken(
                f"unknown key {key!r} in {where}{_closest(key, spec)} "
                f"(valid keys: {', '.join(sorted(spec))})"
            )
        expected = spec[key]
        ok = isinstance(value, expected)
        if expected is list and ok:
            ok = all(isinstance(item, str) for item in value)
        if not ok:
            raise _Broken(f"{where}.{key} must be {_TYPE_NAMES[expected]}, not {value!r}")


def _rule(
    file: str, name: str, table: Mapping[str, Any], config: Config, library: ReplyLibrary
) -> Rule:
    _checked(table, RULE_KEYS, "the rule")
    if "name" not in table:
        raise _Broken('has no name; add name = "…" (the audit log records changes by it)')
    on = table.get("on", "inbound")
    if on not in EVENTS:
        raise _Broken(
            f"on = {on!r} is not an event{_closest(on, EVENTS)} (one of {', '.join(EVENTS)})"
        )
    condition = table.get("if", "")
    try:
        query = parse(condition)
    except QueryError as error:
        raise _Broken(f"if: {format_error(error)}") from None
    if "then" not in table:
        raise _Broken('has no then; add then = { tags = ["+billing"] } (what the rule does)')
    then = _actions(table["then"], config, library)
    if not then.describe():
        raise _Broken("then does nothing; give it tags, priority, status, assign, reply, …")
    return Rule(
        name=name,
        on=cast(Event, on),
        condition=condition,
        query=query,
        then=then,
        stop=table.get("stop", False),
        enabled=table.get("enabled", True),
        file=file,
    )


def _actions(then: Mapping[str, Any], config: Config, library: ReplyLibrary) -> Actions:
    _checked(then, THEN_KEYS, "then")
    add: list[str] = []
    remove: list[str] = []
    for tag in then.get("tags", []):
        word = tag.strip()
        bare = word.lstrip("+-").strip().lower()
        if not bare or any(char.isspace() for char in bare):
            raise _Broken(f"then.tags: a tag is one word (+tag adds, -tag removes), not {tag!r}")
        (remove if word.startswith("-") else add).append(bare)
    priority = None
    if "priority" in then:
        try:
            priority = priority_rank(then["priority"])
        except ValueError as error:
            raise _Broken(f"then.priority: {error}") from None
    status = None
    snooze = then.get("snooze")
    if "status" in then:
        word, _, when = then["status"].strip().partition(" ")
        if word.lower() in ("snooze", "snoozed") and when.strip() and snooze is None:
            snooze = when.strip()  # status = "snooze in 2d" reads as snooze = "in 2d"
        else:
            status = RULE_STATUSES.get(then["status"].strip().lower())
            if status is None:
                raise _Broken(
                    f"then.status = {then['status']!r}: use open, pending, closed or "
                    '"snooze in 2d" (or snooze = "in 2d")'
                )
    if snooze is not None:
        if status is not None:
            raise _Broken("then has both status and snooze; a snooze is a status: keep one")
        try:
            parse_when(snooze)
        except UsageError as error:
            raise _Broken(f"then.snooze: {error}") from None
    reply = None
    if "reply" in then:
        try:
            reply = library.get(then["reply"])
        except NotFoundError as error:
            raise _Broken(f"then.reply: {error}") from None
    note = then.get("note")
    if note is not None and not note.strip():
        raise _Broken("then.note is empty")
    hook = then.get("hook")
    if hook is not None and not hook.strip():
        raise _Broken('then.hook is empty; give a command, e.g. hook = "notify-billing"')
    return Actions(
        add_tags=tuple(add),
        remove_tags=tuple(remove),
        priority=priority,
        status=status,
        snooze=snooze,
        assign=_assignment(then["assign"], config) if "assign" in then else None,
        reply=reply,
        note=note,
        spam=then.get("spam", False),
        hook=hook,
    )


def known_agents(config: Config) -> set[str]:
    """The agents a rule may name: the members of every ``[teams]`` team and this agent."""
    return {member for members in config.teams.values() for member in members} | {config.agent}


def _assignment(text: str, config: Config) -> Assignment:
    kind, _, team = text.strip().partition(":")
    if team and kind in ("round_robin", "least_busy"):
        members = config.teams.get(team)
        if members is None:
            teams = ", ".join(sorted(config.teams)) or "none: add [teams] to the config"
            raise _Broken(
                f"then.assign = {text!r}: no team {team!r}{_closest(team, config.teams)} "
                f"(teams: {teams})"
            )
        return Assignment(cast(Any, kind), team, members)
    if team:
        raise _Broken(
            f"then.assign = {text!r}: use an agent's name, round_robin:TEAM or least_busy:TEAM"
        )
    agent = text.strip()
    if not agent or any(char.isspace() for char in agent):
        raise _Broken(f"then.assign = {text!r} is not an agent's name")
    if config.teams and agent not in known_agents(config):
        raise _Broken(
            f"then.assign = {agent!r}: no such agent in [teams]"
            f"{_closest(agent, known_agents(config))}"
        )
    return Assignment("agent", agent)
