"""SLA policies: which targets a conversation is held to, read from ``[[sla]]`` tables.

A policy names its targets (first response, next response, resolution; each a duration,
each optional), the conversations it covers (``if``, a query; a policy without ``if`` is
the default) and whether its clock runs only in ``[business_hours]`` (the default) or
around the clock. Policies are tried in the file's order; the first whose query matches
a conversation is its policy.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, UsageError
from ..query import Field, Node, Not, QueryError, format_error, parse
from ..query.ast import And, Or
from ..query.fields import Assignee
from ..timeparse import parse_duration
from .business_hours import AlwaysOpen, Calendar, Clock, calendar_from_config

#: What a ``[[sla]]`` table may hold, and the type each key takes.
POLICY_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "if": str,
    "first_response": (str, int, float),
    "next_response": (str, int, float),
    "resolution": (str, int, float),
    "business_hours": bool,
}
TARGETS = ("first_response", "next_response", "resolution")
_ALWAYS = AlwaysOpen()


@dataclass(frozen=True, slots=True)
class Policy:
    """One ``[[sla]]`` table. Targets are seconds of the policy's clock; ``None``: no such
    target. ``query`` is ``None`` for the default policy (it matches every conversation)."""

    name: str
    query: Node | None
    query_text: str
    first_response: float | None
    next_response: float | None
    resolution: float | None
    business_hours: bool


@dataclass(frozen=True, slots=True)
class SlaSettings:
    """Every policy, in the order they are tried, and the team's calendar (``None`` when
    the config has no ``[business_hours]``: business-hours policies then run around the
    clock, which config validation allows only when no policy asks for business hours)."""

    policies: tuple[Policy, ...]
    calendar: Calendar | None = None

    def clock(self, policy: Policy) -> Clock:
        """The clock ``policy``'s targets are measured on."""
        if policy.business_hours and self.calendar is not None:
            return self.calendar
        return _ALWAYS

    def by_name(self, name: str | None) -> Policy | None:
        for policy in self.policies:
            if policy.name == name:
                return policy
        return None

    @property
    def fingerprint(self) -> str:
        """Differs whenever the policies or the calendar change: stored due times computed
        under other settings must then be computed again."""
        calendar = self.calendar
        data: dict[str, Any] = {
            "policies": [
                [p.name, p.query_text, p.first_response, p.next_response, p.resolution,
                 p.business_hours]
                for p in self.policies
            ],
            "calendar": None
            if calendar is None
            else [
                calendar.zone.key,
                [[[str(a), str(b)] for a, b in day] for day in calendar.week],
                sorted(str(day) for day in calendar.holidays),
            ],
        }  # fmt: skip
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def settings_from_config(
    policies: object, business_hours: Mapping[str, Any] | None, file: str
) -> SlaSettings:
    """Settings from the ``[[sla]]`` list and the ``[business_hours]`` table of ``file``.
    Raises :class:`ConfigError` naming the file, the policy and the key."""
    calendar = (
        calendar_from_config(business_hours, f"{file} [business_hours]")
        if business_hours is not None
        else None
    )
    if not isinstance(policies, list):
        raise ConfigError(f'{file}: sla must be a list of [[sla]] tables with name = "…"')
    read: list[Policy] = []
    for index, table in enumerate(policies, 1):
        policy = _policy(table, index, file)
        if any(p.name == policy.name for p in read):
            raise ConfigError(
                f"{file}: [[sla]] number {index}: a second policy named {policy.name!r}"
            )
        if policy.business_hours and calendar is None:
            raise ConfigError(
                f"{file}: [[sla]] {policy.name!r} is measured in business hours, but the file "
                "has no [business_hours] table; add one (timezone, week, holidays) or set "
                "business_hours = false"
            )
        read.append(policy)
    defaults = [p.name for p in read if p.query is None]
    if len(defaults) > 1:
        raise ConfigError(
            f"{file}: [[sla]] {defaults[1]!r} has no 'if' but {defaults[0]!r} is the default "
            "already (it matches everything, so later policies would never apply)"
        )
    if defaults and read[-1].name != defaults[0]:
        later = read[[p.name for p in read].index(defaults[0]) + 1].name
        raise ConfigError(
            f"{file}: [[sla]] {defaults[0]!r} has no 'if' (the default) but is not the last "
            f"policy, so {later!r} after it would never apply; move it to the end"
        )
    return SlaSettings(tuple(read), calendar)


def _policy(table: object, index: int, file: str) -> Policy:
    where = f"[[sla]] number {index}"
    if not isinstance(table, dict):
        raise ConfigError(f'{file}: {where} must be a table with name = "…"')
    name = table.get("name")
    if isinstance(name, str) and name.strip():
        where = f"[[sla]] {name!r}"
    for key, value in table.items():
        if key not in POLICY_KEYS:
            raise ConfigError(
                f"{file}: unknown key {key!r} in {where}{_closest(key)} "
                f"(valid keys: {', '.join(sorted(POLICY_KEYS))})"
            )
        expected = POLICY_KEYS[key]
        if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
            kind = "true or false" if expected is bool else "a string"
            if key in TARGETS:
                kind = 'a duration such as "4h" or "30m"'
            raise ConfigError(f"{file}: {where} {key} must be {kind}, not {value!r}")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f'{file}: {where} needs a name, e.g. name = "urgent"')
    targets = {key: _duration(table.get(key), f"{file}: {where} {key}") for key in TARGETS}
    if all(value is None for value in targets.values()):
        raise ConfigError(
            f"{file}: {where} sets no target; give first_response, next_response or "
            'resolution (e.g. first_response = "4h")'
        )
    query_text = table.get("if")
    query: Node | None = None
    if query_text is not None:
        try:
            query = parse(query_text)
        except QueryError as error:
            raise ConfigError(f"{file}: {where} if: {format_error(error)}") from None
        problem = _unsuitable(query)
        if problem:
            raise ConfigError(f"{file}: {where} if = {query_text!r}: {problem}")
    return Policy(
        name=name.strip(),
        query=query,
        query_text=query_text or "",
        first_response=targets["first_response"],
        next_response=targets["next_response"],
        resolution=targets["resolution"],
        business_hours=bool(table.get("business_hours", True)),
    )


def _duration(value: object, where: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(str(value))
    except UsageError as error:
        raise ConfigError(f"{where}: {error}") from None
    if seconds <= 0:
        raise ConfigError(f"{where}: a target must be longer than zero")
    return seconds


def _closest(key: str) -> str:
    matches = difflib.get_close_matches(key, list(POLICY_KEYS), n=1, cutoff=0.5)
    return f"; did you mean {matches[0]!r}?" if matches else ""


def _fields(node: Node) -> Iterator[Field]:
    if isinstance(node, Field):
        yield node
    elif isinstance(node, Not):
        yield from _fields(node.term)
    elif isinstance(node, And | Or):
        for term in node.terms:
            yield from _fields(term)


def _unsuitable(node: Node) -> str | None:
    """Why a query cannot choose a policy: it depends on the SLA itself, or on who runs
    it (the sync process and every agent must pick the same policy)."""
    for field in _fields(node):
        if field.name == "sla":
            return "a policy cannot be chosen by sla: terms (they depend on the policy)"
        if (field.name == "is" and field.value == "mine") or field.value is Assignee.ME:
            return "'me' differs for each agent; name the agent instead"
        if field.name == "has" and field.value == "draft":
            return "has:draft differs for each agent"
    return None
