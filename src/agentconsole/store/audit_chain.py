"""The audit log as a hash chain: an entry changed, removed or inserted behind the store's
back is found and named.

Each entry's ``chain`` is the SHA-256 of the previous entry's ``chain`` and of this entry's
own fields (id, time, agent, account, action, conversation, detail). The end of the chain
(last id and hash) is kept in ``store_settings`` too, so removing the newest entries shows.
Anyone who can write the file can still rebuild the whole chain — this makes tampering
evident to a casual ``UPDATE``/``DELETE``, it does not prevent it (on PostgreSQL the log is
append-only by its permissions).

Entries are appended by :func:`append` only (called by ``writes.audit``, inside the
caller's write transaction), with ids one above the highest, so a gap in the ids is a
removal. Entries from before the chain existed are linked by the first append.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .db import Db

__all__ = ["ChainCheck", "NewEntry", "append", "append_many", "verify"]

GENESIS = "0" * 64
HEAD_KEY = "audit.head"

_COLUMNS = "id, at, agent, account, action, conversation_id, detail, chain"

#: The text each link hashes (``json.dumps`` with these options builds an encoder per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class _Entry:
    id: int
    at: float
    agent: str
    account: str | None
    action: str
    conversation_id: int | None
    detail: str
    chain: str | None


Problem = Literal["changed", "removed", "inserted"]


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """What :func:`verify` found: ``checked`` entries; when the chain is broken, the first
    entry at fault (``entry``: its id, or the first missing id), what happened to it and a
    sentence saying so; ``None`` for all three when the chain holds."""

    checked: int
    entry: int | None = None
    problem: Problem | None = None
    message: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def _link(previous: str, entry: _Entry) -> str:
    fields: list[Any] = [
        previous,
        entry.id,
        repr(float(entry.at)),
        entry.agent,
        entry.account,
        entry.action,
        entry.conversation_id,
        entry.detail,
    ]
    text = _ENCODER.encode(fields)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _head(conn: Db) -> tuple[int, str] | None:
    row = conn.execute("SELECT value FROM store_settings WHERE key = ?", (HEAD_KEY,)).fetchone()
    if row is None:
        return None
    value = json.loads(row[0])
    return int(value["id"]), str(value["hash"])


def _set_head(conn: Db, entry_id: int, chain: str) -> None:
    conn.execute(
        "INSERT INTO store_settings(key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (HEAD_KEY, json.dumps({"id": entry_id, "hash": chain})),
    )


def _entries(conn: Db) -> list[_Entry]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY id")
    return [_Entry(*row) for row in rows]


def _start(conn: Db) -> tuple[int, str]:
    """Link the entries written before the chain existed; the new head."""
    previous, last = GENESIS, 0
    for entry in _entries(conn):
        previous, last = _link(previous, entry), entry.id
        conn.execute("UPDATE audit_log SET chain = ? WHERE id = ?", (previous, entry.id))
    return last, previous


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to append: everything but its id and link, which :func:`append_many` gives."""

    at: float
    agent: str
    account: str
    action: str
    conversation_id: int | None
    detail: str


def append(
    conn: Db,
    *,
    at: float,
    agent: str,
    account: str,
    action: str,
    conversation_id: int | None,
    detail: str,
) -> int:
    """Append one entry linked to the end of the chain; returns its id. The caller holds
    the write transaction."""
    return append_many(conn, [NewEntry(at, agent, account, action, conversation_id, detail)])


def append_many(conn: Db, entries: Sequence[NewEntry]) -> int:
    """Append ``entries`` in order, each linked to the one before; returns the last id.
    The chain's end is read and written once for all of them (a bulk action audits each of
    hundreds of conversations). The caller holds the write transaction."""
    # Writers running at once (PostgreSQL ingest batches) append one after the other.
    conn.dialect.serialize(conn, "audit")
    head = _head(conn) or _start(conn)
    (highest,) = conn.execute("SELECT max(id) FROM audit_log").fetchone()
    entry_id = highest if highest is not None and highest > head[0] else head[0]
    chain = head[1]
    rows = []
    for new in entries:
        entry_id += 1
        entry = _Entry(
            entry_id,
            new.at,
            new.agent,
            new.account,
            new.action,
            new.conversation_id,
            new.detail,
            None,
        )
        chain = _link(chain, entry)
        rows.append(
            (entry_id, new.at, new.agent, new.account, new.action, new.conversation_id)
            + (new.detail, chain)
        )
    conn.executemany(f"INSERT INTO audit_log({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    _set_head(conn, entry_id, chain)
    return entry_id


def verify(conn: Db) -> ChainCheck:
    """Walk the whole chain from its start and say where it first breaks."""
    head = _head(conn)
    entries = _entries(conn)
    if head is None:
        # Nothing was appended since the chain was introduced: nothing to check against.
        return ChainCheck(0)
    previous, previous_id = GENESIS, 0
    for index, entry in enumerate(entries):
        if entry.chain == _link(previous, entry):
            previous, previous_id = entry.chain, entry.id
            continue
        following = entries[index + 1] if index + 1 < len(entries) else None
        if entry.id > head[0] or (
            following is not None and following.chain == _link(previous, following)
        ):
            return _broken(index, entry.id, "inserted", f"audit entry {entry.id} was inserted")
        if entry.id > previous_id + 1:
            return _broken(
                index,
                previous_id + 1,
                "removed",
                f"audit entry {previous_id + 1} was removed (the log jumps from entry "
                f"{previous_id} to {entry.id})",
            )
        return _broken(index, entry.id, "changed", f"audit entry {entry.id} was changed")
    if head[0] > previous_id:
        return _broken(
            len(entries),
            previous_id + 1,
            "removed",
            f"audit entry {previous_id + 1} was removed (the log ends at entry {previous_id}, "
            f"it was written up to {head[0]})",
        )
    if head[1] != previous:
        return _broken(
            len(entries), previous_id, "changed", f"audit entry {previous_id} was changed"
        )
    return ChainCheck(len(entries))


def _broken(checked: int, entry: int, problem: Problem, message: str) -> ChainCheck:
    return ChainCheck(checked, entry, problem, message)
