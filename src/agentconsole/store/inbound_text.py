"""Inbound text the stores can hold: lone surrogates are neutralised once, at the store's
door, for every channel.

A lone surrogate (a code point in U+D800–U+DFFF) is a character a Python ``str`` can hold but
not text: UTF-8 cannot encode it, so neither SQLite nor PostgreSQL can store it, and a batch
holding one would fail on every retry. They come from outside in ordinary ways: JSON allows
``"\\ud800"`` (Matrix events, forum posts, JSON feeds), some charsets a mail may declare
make them (UTF-7, ``raw-unicode-escape``), and text decoded with ``surrogateescape`` carries
its undecodable bytes as U+DC80–U+DCFF. :func:`storable` is applied to every message the
store ingests (:meth:`Store.ingest`: sync, pushed channels, ``deliver``), so no plugin has
to get this right on its own:

* text people read (the subject, body, author name, attachment names and types, the
  plugin's note, the link) gets U+FFFD (�) for each lone surrogate;
* keys the core matches on (the external id, thread key, references, conversation token,
  content digest, and every identity's namespace and address) get the escape ``\\udXXX``
  instead, so two keys that differ only there stay two: a stranger's chat handle is never
  taken for a customer's;
* the message's note says what was replaced and that the original is kept;
* the content digest is taken from the original text, so two messages that differ only in
  their lone surrogates stay two messages, and a redelivery is still stored once;
* the original is kept exactly: the plugin's raw bytes when it gave them, else the original
  fields as JSON (lone surrogates written as JSON escapes, which read back exactly).

Text an agent writes (a reply, a note, a draft) is not cleaned but refused
(:func:`agent_text`): it goes to a customer as written, so the agent is told and fixes it;
nothing is stored half-right.
"""

from __future__ import annotations

import dataclasses
import json
import re

from ..errors import UsageError
from ..plugin import Attachment, Author, Identity, InboundMessage
from . import identity

__all__ = ["agent_text", "has_lone_surrogates", "storable"]

_LONE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def has_lone_surrogates(text: str) -> bool:
    # UTF-8 encodes every code point but the surrogates: an encode (a copy, in C) is many
    # times cheaper than a regular expression search over a long non-ASCII body.
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def agent_text(text: str, what: str) -> str:
    """``text`` as written, or :class:`UsageError` naming ``what`` ("the reply") and where
    the first character that is not text is."""
    if has_lone_surrogates(text):
        found = _LONE.search(text)
        assert found is not None
        line = text.count("\n", 0, found.start()) + 1
        raise UsageError(
            f"{what} holds a character that is not text (U+{ord(found.group()):04X}, line {line}),"
            " most likely bytes that were not UTF-8; nothing was saved — fix the text"
            " (iconv -f latin1 -t utf-8 converts Latin-1) and try again"
        )
    return text


def _escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


class _Cleaner:
    """Replaces lone surrogates field by field, remembering which fields held some."""

    def __init__(self) -> None:
        self.fields: dict[str, int] = {}

    def text(self, value: str, label: str) -> str:
        if not has_lone_surrogates(value):
            return value
        cleaned, count = _LONE.subn(REPLACEMENT, value)
        self.fields[label] = self.fields.get(label, 0) + count
        return cleaned

    def key(self, value: str, label: str) -> str:
        if not has_lone_surrogates(value):
            return value
        cleaned, count = _LONE.subn(_escape, value)
        self.fields[label] = self.fields.get(label, 0) + count
        return cleaned

    def optional_text(self, value: str | None, label: str) -> str | None:
        return None if value is None else self.text(value, label)

    def optional_key(self, value: str | None, label: str) -> str | None:
        return None if value is None else self.key(value, label)

    def identities(self, values: tuple[Identity, ...], label: str) -> tuple[Identity, ...]:
        return tuple(
            dataclasses.replace(
                each,
                namespace=self.key(each.namespace, label),
                address=self.key(each.address, label),
            )
            for each in values
        )

    def note(self) -> str:
        count = sum(self.fields.values())
        where = ", ".join(self.fields)
        what = "character that is" if count == 1 else "characters that are"
        return (
            f"{count} {what} not text (lone UTF-16 surrogates) replaced in the {where}"
            " (shown as \ufffd, ids spelled \\uXXXX); the original is kept"
        )


def _original_fields(message: InboundMessage) -> bytes:
    """The message's text fields as JSON, lone surrogates as JSON escapes (exact)."""
    fields = {
        "external_id": message.external_id,
        "author": {
            "name": message.author.name,
            "identities": [[i.namespace, i.address] for i in message.author.identities],
        },
        "subject": message.subject,
        "body": message.body,
        "thread_key": message.thread_key,
        "references": list(message.references),
        "attachments": [[a.filename, a.content_type] for a in message.attachments],
        "participants": [[i.namespace, i.address] for i in message.participants],
        "url": message.url,
        "conversation_token": message.conversation_token,
        "parse_note": message.parse_note,
    }
    # A lone surrogate can only be inside a JSON string, where backslashreplace spells it as
    # the JSON escape it came from.
    return json.dumps(fields, ensure_ascii=False, indent=1).encode("utf-8", "backslashreplace")


def _needs_cleaning(message: InboundMessage) -> bool:
    texts = [
        message.external_id,
        message.author.name,
        message.subject,
        message.body,
        message.thread_key or "",
        message.parse_note or "",
        message.url or "",
        message.conversation_token or "",
        message.content_digest or "",
        *message.references,
    ]
    for each in (*message.author.identities, *message.participants):
        texts += (each.namespace, each.address)
    for attachment in message.attachments:
        texts += (attachment.filename, attachment.content_type)
    # One check over all of them: joining cannot make or hide a lone surrogate (a str never
    # pairs surrogates, and UTF-8 refuses a pair as it refuses a lone one).
    return has_lone_surrogates("".join(texts))


def storable(message: InboundMessage) -> InboundMessage:
    """``message`` itself when it holds no lone surrogate; else a copy the stores can hold,
    as the module docstring describes."""
    if not _needs_cleaning(message):
        return message
    clean = _Cleaner()
    # Taken before anything is replaced: the digest must tell apart what the text does not.
    digest = clean.key(identity.digest_of(message), "content digest")
    cleaned = dataclasses.replace(
        message,
        external_id=clean.key(message.external_id, "id"),
        author=Author(
            clean.text(message.author.name, "author's name"),
            clean.identities(message.author.identities, "author's address"),
        ),
        subject=clean.text(message.subject, "subject"),
        body=clean.text(message.body, "body"),
        thread_key=clean.optional_key(message.thread_key, "thread key"),
        references=tuple(clean.key(each, "references") for each in message.references),
        attachments=tuple(
            Attachment(
                clean.text(a.filename, "attachment names"),
                clean.text(a.content_type, "attachment types"),
                a.data,
            )
            for a in message.attachments
        ),
        url=clean.optional_text(message.url, "link"),
        conversation_token=clean.optional_key(message.conversation_token, "conversation token"),
        participants=clean.identities(message.participants, "participants"),
        parse_note=clean.optional_text(message.parse_note, "note"),
        content_digest=digest,
    )
    note = clean.note()
    return dataclasses.replace(
        cleaned,
        parse_note=f"{cleaned.parse_note}; {note}" if cleaned.parse_note else note,
        raw=message.raw if message.raw is not None else _original_fields(message),
    )
