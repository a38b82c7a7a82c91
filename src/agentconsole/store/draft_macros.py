"""The macro actions a draft keeps: the saved replies inserted into it, by name, with the
tags and status each applies when the draft is sent (``drafts.macros``, JSON).

They live in the draft's row, so they go wherever the draft goes: sending the reply or
blanking the draft deletes the row and them with it (they apply once, with that send), and
a console restarted over the store finds them with the draft's text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..models import DraftMacro
from .db import Db


def encode(macros: Sequence[DraftMacro]) -> str | None:
    """The column's value for ``macros`` (``None`` when there are none)."""
    if not macros:
        return None
    return json.dumps([{"name": m.name, "tags": list(m.tags), "status": m.status} for m in macros])


def decode(value: str | None) -> tuple[DraftMacro, ...]:
    """The macros of a column's value; an entry that is not one (a hand-edited store) is
    skipped rather than applied half-understood."""
    if not value:
        return ()
    try:
        entries = json.loads(value)
    except ValueError:
        return ()
    macros = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        tags = entry.get("tags") or []
        status = entry.get("status")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            continue
        if status is not None and not isinstance(status, str):
            continue
        macros.append(DraftMacro(entry["name"], tuple(tags), status))
    return tuple(macros)


def of_draft(conn: Db, conversation_id: int, agent: str, kind: str) -> tuple[DraftMacro, ...]:
    """The macros kept with ``agent``'s draft of ``kind`` on a conversation (none without a
    draft)."""
    row = conn.execute(
        "SELECT macros FROM drafts WHERE conversation_id = ? AND agent = ? AND kind = ?",
        (conversation_id, agent, kind),
    ).fetchone()
    return decode(row[0]) if row else ()


def joined(first: str | None, second: str | None) -> str | None:
    """The column's value for a draft made of two drafts' texts, ``first``'s then
    ``second``'s (a merge appending one to the other, an unsent reply meeting a draft begun
    since): both drafts' macros, each saved reply once, in that order."""
    macros = dict.fromkeys((*decode(first), *decode(second)))
    return encode(tuple(macros))
