"""The whole messages of a UID FETCH, read without imapclient's general response parser.

An initial sync fetches every message of a mailbox; imapclient's parser tokenizes each
response in Python (about 40 µs of CPU per message on a local Dovecot, in the process that
also stores them). Servers answer ``UID FETCH … (BODY.PEEK[] INTERNALDATE)`` in one simple
shape, which a regular expression reads in about 6 µs. Any other shape (items in another
order, an unsolicited FLAGS update among the answers) goes to imapclient's parser whole, so
what is read never depends on which path read it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.response_parser import parse_fetch_response

#: What is asked for each message.
ITEMS = "(BODY.PEEK[] INTERNALDATE)"

#: ``7 (UID 42 INTERNALDATE "02-Dec-2026 00:36:20 +0000" BODY[] {3567}``, before the literal.
_SIMPLE_HEAD = re.compile(rb'[0-9]+ \(UID ([0-9]+) INTERNALDATE "([^"]*)" BODY\[\] \{([0-9]+)\}')
#: RFC 3501 ``date-time``: `` 2-Dec-2026 00:36:20 +0000`` (the day may be space-padded).
_INTERNAL_DATE = re.compile(
    rb" ?([0-9]{1,2})-([A-Z][a-z]{2})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) "
    rb"([+-])([0-9]{2})([0-9]{2})"
)
_MONTHS = {
    name: number
    for number, name in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}

#: UID → (the message's bytes, INTERNALDATE in UTC or None).
Bodies = dict[int, tuple[bytes, datetime | None]]


def fetch_bodies(client: IMAPClient, uids: Sequence[int]) -> Bodies:
    """The messages ``uids`` of the selected folder (those still there), as imapclient's
    ``fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])`` reads them. Raises what imapclient
    and imaplib raise on a refused command or a lost connection."""
    if not uids:
        return {}
    imap = client._imap  # noqa: SLF001 - the same calls IMAPClient.fetch makes
    uid_set = b",".join(b"%d" % uid for uid in uids)
    tag = imap._command("UID", "FETCH", uid_set, ITEMS)  # noqa: SLF001
    typ, data = imap._command_complete("FETCH", tag)  # noqa: SLF001
    client._checkok("fetch", typ, data)  # noqa: SLF001
    typ, data = imap._untagged_response(typ, data, "FETCH")  # noqa: SLF001
    found = read_bodies(data)
    return {uid: found[uid] for uid in uids if uid in found}


def read_bodies(data: list[Any]) -> Bodies:
    """The messages in imaplib's FETCH answer ``data`` (literals as ``(line, bytes)``)."""
    if data == [None]:  # no message answered
        return {}
    simple = _read_simple(data)
    if simple is not None:
        return simple
    found: Bodies = {}
    for uid, item in parse_fetch_response(data, False, True).items():
        raw = item.get(b"BODY[]")
        if raw is not None:
            found[int(uid)] = (bytes(raw), _utc(item.get(b"INTERNALDATE")))
    return found


def _read_simple(data: list[Any]) -> Bodies | None:
    """``data`` when every answer has the simple shape, else None."""
    found: Bodies = {}
    answers = iter(data)
    for answer in answers:
        if not isinstance(answer, tuple) or len(answer) != 2:
            return None
        head, raw = answer
        shape = _SIMPLE_HEAD.fullmatch(head)
        if shape is None or int(shape[3]) != len(raw) or next(answers, None) != b")":
            return None
        found[int(shape[1])] = (bytes(raw), internal_date(shape[2]))
    return found


def internal_date(value: bytes) -> datetime | None:
    """An INTERNALDATE in UTC; None when it is not an RFC 3501 date-time."""
    parts = _INTERNAL_DATE.fullmatch(value)
    if parts is None or parts[2] not in _MONTHS:
        return None
    day, _, year, hour, minute, second, sign, zone_hours, zone_minutes = parts.groups()
    offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        local = datetime(
            int(year), _MONTHS[parts[2]], int(day), int(hour), int(minute), int(second)
        )
    except ValueError:  # 31-Feb
        return None
    return (local + offset if sign == b"-" else local - offset).replace(tzinfo=UTC)


def _utc(value: Any) -> datetime | None:
    """imapclient's INTERNALDATE in UTC with a standard tzinfo (imapclient's own does not
    pickle, and the parse workers receive it)."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
