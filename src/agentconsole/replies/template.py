"""Placeholders in saved replies: ``{customer.first_name}``, ``{conversation.created_at:%H:%M}``.

A template is parsed once into literal text and placeholders, so an unknown placeholder is
found when the file is read (and shown in the picker's preview), and filling it in never
guesses: a placeholder that cannot be filled raises :class:`PlaceholderError` — it is never
sent as text. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass

from ..errors import UsageError

#: Every placeholder a saved reply may use, with what it means (shown in help and errors).
FIELDS: dict[str, str] = {
    "customer.name": "the customer's name as the channel gave it",
    "customer.first_name": "the first word of the customer's name",
    "customer.email": "the customer's email address",
    "agent.name": "the agent's account name",
    "agent.display_name": "the name customers see on the agent's replies",
    "conversation.id": "the conversation's number",
    "conversation.subject": "the conversation's subject",
    "conversation.channel": "the channel's name",
    "conversation.created_at": "when the conversation started (local time; add :FORMAT, "
    "strftime, e.g. {conversation.created_at:%H:%M})",
}
#: Only times take a format.
FORMATTED_FIELDS = frozenset({"conversation.created_at"})
DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M"
_BRACE = re.compile(r"[{}]")


class PlaceholderError(UsageError):
    """A placeholder is unknown, malformed or cannot be filled for this conversation."""


@dataclass(frozen=True, slots=True)
class Placeholder:
    field: str
    format: str | None
    #: Offset of the opening brace in the template text (for error messages).
    offset: int


Segment = str | Placeholder


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """What a placeholder can be filled from. ``None`` means "not known here"."""

    agent_name: str
    agent_display_name: str
    conversation_id: int
    conversation_subject: str
    conversation_channel: str
    conversation_created_at: float
    customer_name: str | None = None
    customer_email: str | None = None

    def value(self, field: str) -> str | float | int | None:
        if field == "customer.first_name":
            words = (self.customer_name or "").split()
            return words[0] if words else None
        return {
            "customer.name": self.customer_name or None,
            "customer.email": self.customer_email or None,
            "agent.name": self.agent_name,
            "agent.display_name": self.agent_display_name,
            "conversation.id": self.conversation_id,
            "conversation.subject": self.conversation_subject or None,
            "conversation.channel": self.conversation_channel,
            "conversation.created_at": self.conversation_created_at,
        }[field]


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: its segments, or the first error found while parsing."""

    segments: tuple[Segment, ...]
    error: PlaceholderError | None = None

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(s for s in self.segments if isinstance(s, Placeholder))

    def render(self, context: ReplyContext) -> str:
        """The text with every placeholder filled in. Raises :class:`PlaceholderError` when
        the template is invalid or a value is unknown for this conversation."""
        if self.error is not None:
            raise self.error
        parts: list[str] = []
        for segment in self.segments:
            if isinstance(segment, str):
                parts.append(segment)
                continue
            value = context.value(segment.field)
            if value is None:
                raise PlaceholderError(
                    f"{{{segment.field}}} cannot be filled: conversation "
                    f"#{context.conversation_id} has no {segment.field.replace('_', ' ')}"
                )
            if segment.field in FORMATTED_FIELDS:
                moment = time.localtime(float(value))
                parts.append(time.strftime(segment.format or DEFAULT_TIME_FORMAT, moment))
            else:
                parts.append(str(value))
        return "".join(parts)


def parse(text: str) -> Template:
    """Split ``text`` into literals and placeholders; never raises (the error is kept)."""
    segments: list[Segment] = []
    literal: list[str] = []
    position = 0
    while True:
        brace = _BRACE.search(text, position)
        if brace is None:
            literal.append(text[position:])
            break
        at = brace.start()
        literal.append(text[position:at])
        char = text[at]
        if text.startswith(char * 2, at):
            literal.append(char)
            position = at + 2
            continue
        if char == "}":
            return _failed(segments, literal, f"a lone '}}' at character {at + 1}: write '}}}}'")
        end = text.find("}", at)
        if end < 0:
            return _failed(
                segments, literal, f"'{{' at character {at + 1} is never closed: write '{{{{'"
            )
        placeholder, error = _placeholder(text[at + 1 : end], at)
        if error is not None:
            return _failed(segments, literal, error)
        assert placeholder is not None
        if "".join(literal):
            segments.append("".join(literal))
        literal = []
        segments.append(placeholder)
        position = end + 1
    if "".join(literal):
        segments.append("".join(literal))
    return Template(tuple(segments))


def _placeholder(inside: str, offset: int) -> tuple[Placeholder | None, str | None]:
    field, _, format_spec = inside.strip().partition(":")
    field = field.strip()
    if field not in FIELDS:
        close = difflib.get_close_matches(field, list(FIELDS), n=1, cutoff=0.6)
        hint = f" — did you mean {{{close[0]}}}?" if close else f"; known: {', '.join(FIELDS)}"
        return None, f"unknown placeholder {{{inside}}}{hint}"
    if format_spec and field not in FORMATTED_FIELDS:
        return None, f"{{{inside}}}: only {', '.join(sorted(FORMATTED_FIELDS))} takes a format"
    return Placeholder(field, format_spec or None, offset), None


def _failed(segments: list[Segment], literal: list[str], message: str) -> Template:
    if "".join(literal):
        segments.append("".join(literal))
    return Template(tuple(segments), PlaceholderError(message))
