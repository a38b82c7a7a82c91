"""Parsed messages as plain tuples, for the trip from a parse worker to the channel.

A pickled :class:`InboundMessage` is rebuilt field by field through the dataclass's own
``__setstate__`` (and so are its author, identities and attachments): about a third more
work on each side than tuples of built-in values, and the side that rebuilds them is the
process that stores them, the one that must not wait. Every field is carried, in the order
the dataclasses declare them, so a field added to the contract travels without a change
here.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Any

from agentconsole.plugin import Attachment, Author, Identity, InboundMessage

_FIELDS = tuple(field.name for field in dataclasses.fields(InboundMessage))
_MESSAGE_VALUES = attrgetter(*_FIELDS)
_IDENTITY_VALUES = attrgetter(*(field.name for field in dataclasses.fields(Identity)))
_ATTACHMENT_VALUES = attrgetter(*(field.name for field in dataclasses.fields(Attachment)))
_AUTHOR = _FIELDS.index("author")
_ATTACHMENTS = _FIELDS.index("attachments")
_PARTICIPANTS = _FIELDS.index("participants")
_RAW = _FIELDS.index("raw")

Wire = tuple[Any, ...]


def encode(message: InboundMessage) -> Wire:
    """``message`` as a tuple of built-in values (:func:`decode` gives it back)."""
    values = list(_MESSAGE_VALUES(message))
    author: Author = values[_AUTHOR]
    values[_AUTHOR] = (author.name, tuple(map(_IDENTITY_VALUES, author.identities)))
    values[_ATTACHMENTS] = tuple(map(_ATTACHMENT_VALUES, values[_ATTACHMENTS]))
    values[_PARTICIPANTS] = tuple(map(_IDENTITY_VALUES, values[_PARTICIPANTS]))
    return tuple(values)


def decode(wire: Wire, raw: bytes | None = None) -> InboundMessage:
    """The message :func:`encode` made ``wire`` of; ``raw``, when given, is its raw bytes
    (for callers that kept them rather than ship them twice)."""
    values = list(wire)
    name, identities = values[_AUTHOR]
    values[_AUTHOR] = Author(name, tuple(Identity(*identity) for identity in identities))
    values[_ATTACHMENTS] = tuple(Attachment(*attachment) for attachment in values[_ATTACHMENTS])
    values[_PARTICIPANTS] = tuple(Identity(*identity) for identity in values[_PARTICIPANTS])
    if raw is not None:
        values[_RAW] = raw
    return InboundMessage(*values)
