"""The one place SLA columns are written: a conversation's policy, current target, due time,
breached flag and pending spells, recomputed from the conversation and the configured
policies (:mod:`agentconsole.sla`).

:func:`recompute` is what every write path calls (the :class:`~agentconsole.store.Store`
does it right after each write that can move a due time: ingest, status, priority,
assignment and tag changes, replies, undo); :func:`ensure` recomputes every conversation
still in play when the policies changed since the due times were stored. The columns are
derived data: losing a recompute (a crash between the two transactions) leaves a due time
stale until the next change of that conversation, never loses anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..sla import SlaSettings
from ..sla.due import Due, Facts, compute, pauses_from_json, pauses_to_json, update_pauses
from .columns import Columns
from .compile_query import compile_query
from .db import Db
from .upkeep import sla_fingerprints

#: Conversations recomputed per statement and per transaction.
CHUNK = 2000
#: Closed conversations resolved this recently are recomputed too when the policies
#: change, so the report's recent breaches follow the new policies.
RECENT_CLOSED = 30 * 86400.0


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    status: str
    created_at: float
    updated_at: float
    first_response_at: float | None
    waiting_since: float | None
    resolved_at: float | None
    last_message_at: float
    handed_off_at: float | None
    sla_pauses: str | None
    sla_policy: str | None
    sla_target: str | None
    sla_started_at: float | None
    sla_due_at: float | None
    sla_breached: int
    sla_late_responses: int


_STORED = Columns(
    _Stored,
    {
        name: f"c.{name}"
        for name in (
            "id",
            "status",
            "created_at",
            "updated_at",
            "first_response_at",
            "waiting_since",
            "resolved_at",
            "last_message_at",
            "handed_off_at",
            "sla_pauses",
            "sla_policy",
            "sla_target",
            "sla_started_at",
            "sla_due_at",
            "sla_breached",
            "sla_late_responses",
        )
    },
)
_UPDATE = (
    "UPDATE conversations SET sla_policy = ?, sla_target = ?, sla_started_at = ?,"
    " sla_due_at = ?, sla_breached = ?, sla_late_responses = ?, sla_pauses = ? WHERE id = ?"
)
#: The SLA columns of one conversation, in :data:`_UPDATE`'s order (without the id).
_Values = tuple[str | None, str | None, float | None, float | None, int, int, str | None]


def recompute(conn: Db, ids: Sequence[int], settings: SlaSettings, now: float) -> int:
    """Recompute the SLA columns of ``ids`` inside the caller's transaction; returns how
    many rows changed. Unknown ids are skipped."""
    changed = 0
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        changed += _chunk(conn, unique[start : start + CHUNK], settings, now)
    return changed


def recompute_committed(conn: Db, ids: Sequence[int], settings: SlaSettings, now: float) -> int:
    """:func:`recompute`, one transaction per chunk (for callers outside a transaction)."""
    changed = 0
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        with conn.transaction():
            changed += _chunk(conn, unique[start : start + CHUNK], settings, now)
    return changed


def ensure(conn: Db, settings: SlaSettings | None, now: float) -> int:
    """Make the stored SLA columns follow ``settings``: when they were computed under other
    policies (or none), recompute every conversation still in play (and those closed in
    the last 30 days); with no policies, clear them. Returns how many rows changed; a
    store already up to date costs one read."""
    stored, wanted = sla_fingerprints(conn, settings)
    if stored == wanted:
        return 0
    if wanted is None or settings is None:
        with conn.transaction():
            cleared = conn.execute(
                "UPDATE conversations SET sla_policy = NULL, sla_target = NULL,"
                " sla_started_at = NULL, sla_due_at = NULL, sla_breached = 0"
                " WHERE sla_policy IS NOT NULL OR sla_breached != 0"
            ).rowcount
            conn.execute("DELETE FROM sla_settings WHERE name = 'fingerprint'")
        return cleared
    changed = refresh(conn, settings, now)
    with conn.transaction():
        conn.execute(
            "INSERT INTO sla_settings(name, value, changed_at) VALUES ('fingerprint', ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value,"
            " changed_at = excluded.changed_at",
            (wanted, now),
        )
    return changed


def refresh(conn: Db, settings: SlaSettings, now: float) -> int:
    """Recompute every conversation still in play and those closed in the last 30 days,
    one transaction per chunk; returns how many rows changed."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM conversations WHERE status != 'closed' OR resolved_at >= ? ORDER BY id",
            (now - RECENT_CLOSED,),
        )
    ]
    return recompute_committed(conn, ids, settings, now)


def _chunk(conn: Db, ids: list[int], settings: SlaSettings, now: float) -> int:
    placeholders = ",".join("?" * len(ids))
    rows = {
        row.id: row
        for row in (
            _STORED.build(r)
            for r in conn.execute(
                f"SELECT {_STORED.sql} FROM conversations c WHERE c.id IN ({placeholders})", ids
            )
        )
    }
    chosen = _choose(conn, ids, settings, now, placeholders)
    updates = []
    for conversation_id, stored in rows.items():
        values = _values(stored, chosen.get(conversation_id), settings, now)
        current = (
            stored.sla_policy,
            stored.sla_target,
            stored.sla_started_at,
            stored.sla_due_at,
            stored.sla_breached,
            stored.sla_late_responses,
            stored.sla_pauses,
        )
        if values != current:
            updates.append((*values, conversation_id))
    if updates:
        conn.executemany(_UPDATE, updates)
    return len(updates)


def _choose(
    conn: Db,
    ids: list[int],
    settings: SlaSettings,
    now: float,
    placeholders: str,
) -> dict[int, str]:
    """Each conversation's policy name: the first policy whose query matches it, all
    policies in one statement (a CASE checked row by row on the given conversations)."""
    whens: list[str] = []
    params: list[object] = []
    fallback = "NULL"
    for index, policy in enumerate(settings.policies):
        if policy.query is None:
            fallback = str(index)
            break
        condition = compile_query(
            policy.query, agent="", now=now, dialect=conn.dialect, per_row=True
        )
        whens.append(f"WHEN {condition.where} THEN {index}")
        params += condition.params
    choice = f"CASE {' '.join(whens)} ELSE {fallback} END" if whens else fallback
    sql = f"SELECT c.id, {choice} FROM conversations c WHERE c.id IN ({placeholders})"
    names = [policy.name for policy in settings.policies]
    return {
        conversation_id: names[index]
        for conversation_id, index in conn.execute(sql, (*params, *ids))
        if index is not None
    }


def _values(stored: _Stored, policy_name: str | None, settings: SlaSettings, now: float) -> _Values:
    """The SLA columns of one conversation, from its facts and what was stored before.

    Whether first response and resolution were late is read from the facts every time
    (so history ingested late is judged by when things happened). A next response leaves
    no trace once given, so a late one is counted as it happens: the stored target was a
    next response, due before the answer came (or before now, while none came)."""
    pauses = update_pauses(pauses_from_json(stored.sla_pauses), stored.status, stored.updated_at)
    pauses_text = pauses_to_json(pauses)
    policy = settings.by_name(policy_name)
    if policy is None:
        return (None, None, None, None, 0, 0, pauses_text)
    facts = Facts(
        status=stored.status,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        first_response_at=stored.first_response_at,
        waiting_since=stored.waiting_since,
        resolved_at=stored.resolved_at,
        pauses=pauses,
        handed_off_at=stored.handed_off_at,
    )
    due: Due = compute(policy, settings.clock(policy), facts)
    late = stored.sla_late_responses
    answered_at = stored.last_message_at if stored.waiting_since is None else now
    if (
        stored.sla_target == "next_response"
        and (due.target, due.started_at) != (stored.sla_target, stored.sla_started_at)
        and _passed(stored.sla_due_at, answered_at)
    ):
        late += 1
    breached = due.missed or late > 0 or _passed(due.due_at, now)
    return (policy.name, due.target, due.started_at, due.due_at, int(breached), late, pauses_text)


def _passed(due_at: float | None, now: float) -> bool:
    return due_at is not None and due_at <= now
