"""The fields a query knows, what each takes, and how a value is read and written back.

One table (:data:`FIELDS`) decides the names, the values, the comparisons and the help
line of every field, so the parser, the canonical text and ``help query`` cannot drift.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Literal

from ..errors import UsageError
from ..models import PRIORITIES, record
from ..timeparse import parse_day, parse_duration
from .errors import did_you_mean

Op = Literal["=", "<", "<=", ">", ">="]
ValueKind = Literal[
    "text", "party", "contact", "choice", "assignee", "priority", "duration", "date", "id", "sla"
]


class Assignee(enum.Enum):
    """The symbolic assignees: ``me`` is resolved to the agent only when the query is
    compiled (a saved view means "me" for whoever opens it); ``none`` is unassigned."""

    ME = "me"
    NOBODY = "none"


@record
class Party:
    """Who a ``from:`` or ``to:`` names. ``kind`` is ``address`` (has an ``@``: matched as
    the whole address), ``domain`` (``@acme.example``: ``text`` is ``acme.example``) or
    ``text`` (matched against names and addresses)."""

    text: str
    kind: Literal["address", "domain", "text"]


#: A field's typed value; which one is decided by the field (see :class:`FieldSpec`).
FieldValue = str | int | float | Party | Assignee


@record
class FieldSpec:
    """A field. Values by ``kind``: ``text`` a str; ``party`` a :class:`Party`;
    ``contact`` an int (contact id) or a str (an address); ``choice`` one of ``choices``;
    ``assignee`` an agent's name or an :class:`Assignee`; ``priority`` a store rank (0
    urgent … 3 low); ``duration`` seconds; ``date`` a UTC timestamp; ``id`` an int;
    ``sla`` one of ``choices`` (op ``=``) or, for ``due<DURATION``, seconds with the op."""

    name: str
    kind: ValueKind
    #: What the value is called in messages ("unknown status 'opne'").
    noun: str
    syntax: str
    summary: str
    choices: tuple[str, ...] = ()

    @property
    def compares(self) -> bool:
        """Whether the value may start with a comparison (``<``, ``<=``, ``>``, ``>=``, ``=``)."""
        return self.kind in ("priority", "duration")


_SPECS = (
    FieldSpec("from", "party", "sender", "from:ADDRESS|NAME|@DOMAIN", "the customer who wrote"),
    FieldSpec("to", "party", "recipient", "to:ADDRESS|NAME|@DOMAIN", "an address written to"),
    FieldSpec("contact", "contact", "contact", "contact:ID|ADDRESS", "one contact, every channel"),
    FieldSpec("channel", "text", "channel", "channel:NAME", "a configured channel"),
    FieldSpec(
        "type", "choice", "channel type", "type:email|chat|forum", "the kind of channel",
        ("email", "chat", "forum"),
    ),
    FieldSpec(
        "status", "choice", "status", "status:open|pending|snoozed|closed|any",
        "any: closed too", ("open", "pending", "snoozed", "closed", "any"),
    ),
    FieldSpec("tag", "text", "tag", "tag:NAME", "has this tag"),
    FieldSpec("assignee", "assignee", "assignee", "assignee:NAME|me|none", "assigned to"),
    FieldSpec(
        "priority", "priority", "priority", "priority:[OP]LEVEL",
        "low < normal < high < urgent (>=high)", tuple(reversed(PRIORITIES)),
    ),
    FieldSpec("subject", "text", "subject", "subject:TEXT", "words in the subject"),
    FieldSpec(
        "has", "choice", "has: value", "has:attachment|draft", "a file, or your unsent draft",
        ("attachment", "draft"),
    ),
    FieldSpec(
        "is", "choice", "is: value",
        "is:unassigned|mine|failed|snoozed|waiting|answered|broken|spam",
        "answered: customer wrote back to you; broken: channel fails",
        ("unassigned", "mine", "failed", "snoozed", "waiting", "answered", "broken", "spam"),
    ),
    FieldSpec("waiting", "duration", "duration", "waiting:OPDURATION",
              "how long the customer has waited (waiting:>4h)"),
    FieldSpec("age", "duration", "duration", "age:OPDURATION",
              "since the conversation began (age:<2d)"),
    FieldSpec("updated", "duration", "duration", "updated:OPDURATION",
              "since the last change (updated:<1h)"),
    FieldSpec(
        "sla", "sla", "sla: value", "sla:breached|paused|due<DURATION",
        "a target missed or past due; paused: pending; due within",
        ("breached", "paused"),
    ),
    FieldSpec("before", "date", "date", "before:DATE", "last message before that day"),
    FieldSpec("after", "date", "date", "after:DATE", "last message on or after that day"),
    FieldSpec("id", "id", "conversation id", "id:N or #N", "one conversation"),
)  # fmt: skip

FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in _SPECS}

_OPS: tuple[Op, ...] = (">=", "<=", ">", "<", "=")
# Priority comparisons are typed in importance (>=high: high or urgent) but stored as ranks
# (0 = urgent): the AST keeps the rank and the op on the rank, so a compiler applies both as is.
_RANK_OP: dict[Op, Op] = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_DURATION_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60))


class BadValue(Exception):
    """A value that does not fit its field: ``message`` and the offsets, relative to the
    value's text, that it is about (the parser turns it into a :class:`QueryError`)."""

    def __init__(self, message: str, start: int = 0, end: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end


def read_value(spec: FieldSpec, raw: str, quoted: bool, now: datetime) -> tuple[Op, FieldValue]:
    """The comparison and the typed value of ``spec:raw``; ``now`` (aware) anchors dates.
    Raises :class:`BadValue` (relative to ``raw``) when the value does not fit."""
    op: Op = "="
    offset = 0
    if spec.kind == "sla":
        return _sla_value(spec, raw)
    if spec.compares and not quoted:
        for candidate in _OPS:
            if raw.startswith(candidate):
                op, offset = candidate, len(candidate)
                break
        else:
            if spec.kind == "duration":
                raise BadValue(
                    f"{spec.name}: needs a comparison, e.g. {spec.name}:>4h or {spec.name}:<30m"
                )
    text = raw[offset:]
    if not text:
        raise BadValue(f"{spec.name}: needs a value — {spec.syntax}", offset)
    try:
        return op, _typed(spec, op, text, now, offset)
    except UsageError as error:
        raise BadValue(str(error), offset) from None


def _sla_value(spec: FieldSpec, raw: str) -> tuple[Op, FieldValue]:
    """``breached``, ``paused`` or ``due`` with a comparison and a duration (seconds)."""
    lowered = raw.lower()
    if lowered.startswith("due"):
        rest = raw[3:]
        op = next((candidate for candidate in _OPS if rest.startswith(candidate)), None)
        if op is None or op == "=" or not rest[len(op) :]:
            raise BadValue("sla:due needs a comparison and a duration, e.g. sla:due<1h", 3)
        try:
            return op, parse_duration(rest[len(op) :])
        except UsageError as error:
            raise BadValue(str(error), 3 + len(op)) from None
    if lowered not in spec.choices:
        raise BadValue(did_you_mean(spec.noun, raw, (*spec.choices, "due<1h")))
    return "=", lowered


def _typed(spec: FieldSpec, op: Op, text: str, now: datetime, offset: int) -> FieldValue:
    kind = spec.kind
    if kind == "text":
        return text
    if kind == "party":
        if text.startswith("@"):
            if len(text) == 1:
                raise BadValue(f"{spec.name}:@ needs a domain, e.g. {spec.name}:@acme.example")
            return Party(text[1:], "domain")
        return Party(text, "address" if "@" in text else "text")
    if kind == "contact":
        digits = text.removeprefix("#")
        return int(digits) if digits.isdigit() else text
    if kind == "choice":
        lowered = text.lower()
        if lowered not in spec.choices:
            raise BadValue(did_you_mean(spec.noun, text, spec.choices), offset)
        return lowered
    if kind == "assignee":
        lowered = text.lower()
        return Assignee.ME if lowered == "me" else Assignee.NOBODY if lowered == "none" else text
    if kind == "priority":
        try:
            return PRIORITIES.index(text.lower())
        except ValueError:
            raise BadValue(did_you_mean(spec.noun, text, spec.choices), offset) from None
    if kind == "duration":
        return parse_duration(text)
    if kind == "date":
        return parse_day(text, now).timestamp()
    digits = text.removeprefix("#")
    if not digits.isdigit():
        raise BadValue(f"{spec.name}: needs a conversation number, e.g. id:338 or #338")
    return int(digits)


def stored_op(spec: FieldSpec, op: Op) -> Op:
    """The op as the AST keeps it (priority: on the rank; everything else unchanged)."""
    return _RANK_OP[op] if spec.kind == "priority" else op


def typed_op(spec: FieldSpec, op: Op) -> Op:
    """The op as typed, from the op the AST keeps (the inverse of :func:`stored_op`)."""
    return _RANK_OP[op] if spec.kind == "priority" else op


def write_value(spec: FieldSpec, op: Op, value: FieldValue) -> tuple[str, str]:
    """(the typed comparison, the value's text) that :func:`read_value` reads back as
    ``op``, ``value``: the canonical spelling (durations in their largest whole unit, dates
    as ISO 8601 UTC)."""
    shown = typed_op(spec, op)
    prefix = "" if shown == "=" and spec.kind != "duration" else shown
    if isinstance(value, Assignee):
        return prefix, value.value
    if isinstance(value, Party):
        return prefix, ("@" + value.text) if value.kind == "domain" else value.text
    if spec.kind == "priority" and isinstance(value, int):
        return prefix, PRIORITIES[value]
    if spec.kind == "sla":
        if isinstance(value, int | float):
            return "", f"due{op}{format_duration(float(value))}"
        return "", str(value)
    if spec.kind == "duration" and isinstance(value, int | float):
        return prefix, format_duration(float(value))
    if spec.kind == "date" and isinstance(value, int | float):
        return prefix, format_timestamp(float(value))
    return prefix, str(value)


def format_duration(seconds: float) -> str:
    """``14400.0`` → ``4h``: the largest unit that divides it, else seconds (exact)."""
    if seconds.is_integer():
        whole = int(seconds)
        for unit, size in _DURATION_UNITS:
            if whole and whole % size == 0:
                return f"{whole // size}{unit}"
        return f"{whole}s"
    from decimal import Decimal  # a fractional number of seconds is rare

    return f"{Decimal(repr(seconds)):f}s"


def format_timestamp(timestamp: float) -> str:
    """A UTC timestamp as ISO 8601 (``2026-11-01T00:00:00Z``), read back to the same value."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    spec = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(spec)
